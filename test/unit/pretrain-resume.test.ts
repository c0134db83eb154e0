/**
 * `pretrainEpoch` resumes a retried attempt from the checkpoint in its previous heartbeat. The first
 * attempt runs in a MockActivityEnvironment and is cancelled after 3 steps (it writes a final checkpoint
 * and throws CancelledFailure); the second attempt gets that attempt's last heartbeat as its
 * heartbeatDetails, continues from step 3, and ends with the weights of an epoch that was never stopped.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { ExperimentConfig } from '../../config/schema';
import { augmentationId } from '../../activities/augment';
import { activityStore } from '../../activities/context';
import {
  preparePretraining,
  pretrainEpoch,
  stepsPerEpoch,
  type PrepareResult,
  type PretrainEpochInput,
} from '../../activities/pretrain';
import { initBackend } from '../../simclr/backend';
import type { DatasetManifest, PretrainEpochResult, PretrainHeartbeat } from '../../contracts';
import { shapesPretrainFixture } from '../helpers/activity-fixture';

let work: string;
let config: ExperimentConfig;
let dataset: DatasetManifest;
const savedEnv = { ...process.env };
/** The activity logs (e.g. views computed inline) would drown the test output. */
const quiet = { logger: new DefaultLogger('ERROR') };

before(async () => {
  await initBackend('tensorflow');
  ({ work, config, dataset } = await shapesPretrainFixture('simclr-resume-', {
    name: 'pretrain-resume',
    seed: 1,
    pretrain: { epochs: 2, batchSize: 32, warmupEpochs: 1, checkpointEverySteps: 2, knnEveryEpochs: 0 },
  }));
});

after(() => {
  rmSync(work, { recursive: true, force: true });
  process.env = savedEnv;
});

function epochInput(experimentId: string): PretrainEpochInput {
  return {
    experimentId,
    config,
    dataset,
    augmentationId: augmentationId(config, dataset),
    epoch: 0,
    stepsPerEpoch: stepsPerEpoch(config, dataset),
  };
}

/** Every float32 weight of a checkpoint's encoder, head and optimiser slots. */
async function weightsOf(checkpoint: string): Promise<Float32Array[]> {
  const store = await activityStore();
  const read = async (name: string) => {
    const b = await store.get(`${checkpoint}/${name}`);
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  return Promise.all(['encoder/weights.bin', 'head/weights.bin', 'optimizer.bin'].map(read));
}

function maxDifference(a: Float32Array[], b: Float32Array[]): number {
  assert.deepEqual(
    a.map((x) => x.length),
    b.map((x) => x.length),
  );
  let max = 0;
  a.forEach((x, i) =>
    x.forEach((v, j) => (max = Math.max(max, Math.abs(v - b[i][j]) / Math.max(1, Math.abs(v))))),
  );
  return max;
}

/** The reference run of the file's tests: one uninterrupted epoch 0 of experiment 'straight'. */
let straightRun: Promise<PretrainEpochResult> | undefined;
function straightEpoch(): Promise<PretrainEpochResult> {
  straightRun ??= new MockActivityEnvironment(undefined, quiet).run(pretrainEpoch, epochInput('straight'));
  return straightRun;
}

test('a retried pretrainEpoch continues from the checkpoint of its previous heartbeat and ends where an uninterrupted epoch ends', async () => {
  assert.equal(stepsPerEpoch(config, dataset), 6);
  const store = await activityStore();

  // The reference: one uninterrupted epoch.
  const straight = await straightEpoch();
  assert.equal(straight.globalStep, 6);

  // Attempt 1, cancelled after its third step: a final checkpoint at step 3, then CancelledFailure.
  const first = new MockActivityEnvironment({ attempt: 1 }, quiet);
  const beats: PretrainHeartbeat[] = [];
  first.on('heartbeat', (d: PretrainHeartbeat) => {
    if (typeof d?.step !== 'number') return;
    beats.push(d);
    if (beats.length === 3) first.cancel();
  });
  await assert.rejects(first.run(pretrainEpoch, epochInput('resumed')), (err: unknown) => {
    assert.ok(err instanceof CancelledFailure, `CancelledFailure, got ${String(err)}`);
    assert.match(err.message, /cancelled at step 3; checkpoint .*step-00000003/);
    return true;
  });
  const last = beats[beats.length - 1];
  assert.equal(last.step, 3);
  assert.deepEqual(Object.keys(beats[0]).sort(), ['checkpoint', 'epoch', 'loss', 'step', 'stepsPerEpoch']);
  assert.deepEqual(
    beats.map((b) => [b.step, b.checkpoint?.replace(/.*\//, '')]),
    [
      [1, undefined],
      [2, 'step-00000002'],
      [3, 'step-00000002'],
      [3, 'step-00000003'],
    ],
    'a heartbeat per step carrying the last checkpoint (every 2 steps), then the cancellation checkpoint',
  );
  assert.match(last.checkpoint ?? '', /experiments\/resumed\/checkpoints\/step-00000003$/);
  const atStep3 = await weightsOf(last.checkpoint!);

  // Attempt 2 sees attempt 1's last heartbeat and resumes from its checkpoint.
  const second = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: last }, quiet);
  const secondSteps: number[] = [];
  second.on('heartbeat', (d: PretrainHeartbeat) => typeof d?.step === 'number' && secondSteps.push(d.step));
  const resumed: PretrainEpochResult = await second.run(pretrainEpoch, epochInput('resumed'));
  assert.equal(resumed.globalStep, 6);
  assert.deepEqual(secondSteps.slice(0, 3), [4, 5, 6], 'steps 4 to 6 only');
  const chunks = (await store.list('experiments/resumed/metrics/')).map((s) => s.key);
  assert.ok(
    chunks.some((k) => k.includes('pretrain-from-3-')),
    `a metrics chunk of the steps from 3: ${chunks.join(', ')}`,
  );

  // Same weights, BN statistics and LARS momentum as the uninterrupted epoch; and the resume did train.
  const end = await weightsOf(resumed.checkpoint!);
  const reference = await weightsOf(straight.checkpoint!);
  const diff = maxDifference(end, reference);
  assert.ok(diff < 1e-4, `resumed vs uninterrupted: max relative difference ${diff}`);
  assert.ok(maxDifference(end, atStep3) > 1e-3, 'steps 4–6 changed the weights');
});

test('a retry after a crash resumes from the last periodic checkpoint of its heartbeat, bit-identical', async () => {
  const straight = await straightEpoch();
  // The crashed attempt had heartbeated step 5; its last checkpoint was the periodic one at step 4.
  const crashed: PretrainHeartbeat = {
    epoch: 0,
    step: 5,
    stepsPerEpoch: 6,
    loss: 1,
    checkpoint: 'experiments/straight/checkpoints/step-00000004',
  };
  const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: crashed }, quiet);
  const steps: number[] = [];
  retry.on('heartbeat', (d: PretrainHeartbeat) => typeof d?.step === 'number' && steps.push(d.step));
  const resumed: PretrainEpochResult = await retry.run(pretrainEpoch, epochInput('crashed'));
  assert.deepEqual(steps, [5, 6, 6], 'steps 5 and 6, then the final checkpoint');
  assert.equal(resumed.globalStep, 6);
  const diff = maxDifference(await weightsOf(resumed.checkpoint!), await weightsOf(straight.checkpoint!));
  assert.equal(diff, 0, `resumed vs uninterrupted: max relative difference ${diff}`);
});

test('a retry whose last heartbeat lags the store resumes from the newest committed checkpoint of its epoch', async () => {
  const straight = await straightEpoch();
  const store = await activityStore();
  // The lost attempt had committed checkpoints 2 and 4, but the heartbeat that reached the server
  // (heartbeats are throttled) still named 2. The fault suite's gpu SIGKILL caught exactly this.
  for (const step of ['step-00000002', 'step-00000004']) {
    for (const { key } of await store.list(`experiments/straight/checkpoints/${step}/`))
      await store.put(key.replace('/straight/', '/lagging/'), await store.get(key));
  }
  await store.put('experiments/lagging/checkpoints/LATEST', 'experiments/lagging/checkpoints/step-00000004');
  const lagging: PretrainHeartbeat = {
    epoch: 0,
    step: 3,
    stepsPerEpoch: 6,
    loss: 1,
    checkpoint: 'experiments/lagging/checkpoints/step-00000002',
  };
  const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: lagging }, quiet);
  const steps: number[] = [];
  retry.on('heartbeat', (d: PretrainHeartbeat) => typeof d?.step === 'number' && steps.push(d.step));
  const resumed: PretrainEpochResult = await retry.run(pretrainEpoch, epochInput('lagging'));
  assert.deepEqual(steps, [5, 6, 6], 'steps 5 and 6 only: nothing before the committed step 4 is redone');
  const diff = maxDifference(await weightsOf(resumed.checkpoint!), await weightsOf(straight.checkpoint!));
  assert.equal(diff, 0, `resumed vs uninterrupted: max relative difference ${diff}`);
});

test('pretrainEpoch records where its time went, in its result and as metric records', async () => {
  const straight = await straightEpoch();
  const time = straight.time!;
  assert.ok(time, 'a time breakdown');
  for (const [part, seconds] of Object.entries(time))
    assert.ok(Number.isFinite(seconds) && seconds >= 0, `${part}: ${seconds}`);
  assert.ok(time.stepsSeconds > 0 && time.checkpointSeconds > 0 && time.metricsSeconds > 0);
  assert.ok(time.viewsSeconds > 0, 'the views of epoch 0 were computed inline: the loop waited for them');
  assert.equal(time.knnSeconds, 0, 'no kNN monitor in this experiment');
  const parts = Object.values(time).reduce((a, b) => a + b, 0);
  assert.ok(parts <= straight.seconds + 1e-3, `parts ${parts} s within the epoch's ${straight.seconds} s`);

  const store = await activityStore();
  const chunk = await store.get('experiments/straight/metrics/pretrain-time-from-0-000000000.jsonl');
  const records = chunk
    .toString('utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { name: string; value: number; epoch: number; step: number });
  assert.deepEqual(Object.fromEntries(records.map((r) => [r.name, r.value])), {
    time_setup_s: time.setupSeconds,
    time_views_s: time.viewsSeconds,
    time_steps_s: time.stepsSeconds,
    time_checkpoint_s: time.checkpointSeconds,
    time_knn_s: time.knnSeconds,
    time_metrics_s: time.metricsSeconds,
  });
  assert.ok(records.every((r) => r.epoch === 0 && r.step === 6));
});

test("pretrainEpoch records its median step time, the statistic of the isolated step's bench", async () => {
  const straight = await straightEpoch();
  const store = await activityStore();
  const chunk = await store.get('experiments/straight/metrics/pretrain-from-0-000000000.jsonl');
  const medians = chunk
    .toString('utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { name: string; value: number; epoch: number; step: number })
    .filter((r) => r.name === 'step_ms_median');
  assert.equal(medians.length, 1, 'one per epoch');
  const [{ value, epoch, step }] = medians;
  assert.deepEqual([epoch, step], [0, 6]);
  // Six steps: the median lies within their sum, and no step took no time.
  assert.ok(value > 0 && value <= 1000 * straight.time!.stepsSeconds, `median ${value} ms`);
});

test('a retry of an attempt that died after its end-of-epoch checkpoint reports that epoch, never NaN', async () => {
  const straight = await straightEpoch();
  // The dead attempt's last heartbeat: the end-of-epoch checkpoint (step 6 of 6), sent just before the
  // kNN monitor and the metrics writes, where it died.
  const died: PretrainHeartbeat = {
    epoch: 0,
    step: 6,
    stepsPerEpoch: 6,
    loss: straight.meanLoss,
    checkpoint: straight.checkpoint,
  };
  const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: died }, quiet);
  const steps: number[] = [];
  retry.on('heartbeat', (d: PretrainHeartbeat) => typeof d?.step === 'number' && steps.push(d.step));
  const result: PretrainEpochResult = await retry.run(pretrainEpoch, epochInput('ended'));
  assert.ok(
    steps.every((s) => s === 6),
    `no step ran again: ${steps.join(', ')}`,
  );
  assert.equal(result.globalStep, 6);
  assert.equal(result.checkpoint, straight.checkpoint);
  // The figures of the attempt that ran the steps, from its checkpoint, and JSON-safe.
  assert.equal(result.meanLoss, straight.meanLoss);
  assert.equal(result.meanContrastiveAcc, straight.meanContrastiveAcc);
  assert.equal(result.imagesPerSec, straight.imagesPerSec);
  const json = JSON.parse(JSON.stringify(result)) as PretrainEpochResult;
  for (const field of ['meanLoss', 'meanContrastiveAcc', 'imagesPerSec', 'seconds'] as const)
    assert.ok(Number.isFinite(json[field]), `${field}: ${json[field]}`);
  // The rest of the end-of-epoch work was done: the epoch's time breakdown is written.
  const store = await activityStore();
  assert.ok(await store.exists('experiments/ended/metrics/pretrain-time-from-6-000000000.jsonl'));
});

test('a cancelled attempt writes the losses of the steps it ran, so a resumed run has no gap in its curves', async () => {
  const store = await activityStore();
  const env = new MockActivityEnvironment({ attempt: 1 }, quiet);
  let beats = 0;
  env.on('heartbeat', (d: PretrainHeartbeat) => typeof d?.step === 'number' && ++beats === 2 && env.cancel());
  await assert.rejects(env.run(pretrainEpoch, epochInput('cancelled-curve')), CancelledFailure);
  const chunk = await store.get('experiments/cancelled-curve/metrics/pretrain-from-0-000000000.jsonl');
  const lossSteps = chunk
    .toString('utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { name: string; step: number })
    .filter((r) => r.name === 'loss')
    .map((r) => r.step);
  assert.deepEqual(lossSteps, [1, 2]);
});

test('preparePretraining refuses a new run of an id with checkpoints; a resume carries the earlier epochs', async () => {
  const straight = await straightEpoch();
  const prepare = (resume: boolean): Promise<PrepareResult> =>
    new MockActivityEnvironment(undefined, quiet).run(preparePretraining, {
      experimentId: 'straight',
      config,
      dataset,
      resume,
    });
  await assert.rejects(prepare(false), (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure && err.nonRetryable, String(err));
    assert.equal(err.type, 'ExperimentIdInUse');
    assert.match(err.message, /already has checkpoints from an earlier run .*simclr resume straight/);
    return true;
  });
  const resumed = await prepare(true);
  assert.equal(resumed.startEpoch, 1);
  assert.equal(resumed.checkpoint, straight.checkpoint);
  // Epoch 0 as the earlier run recorded it: its six steps' mean loss, its throughput and time.
  assert.equal(resumed.history?.length, 1);
  const [epoch0] = resumed.history!;
  assert.equal(epoch0.epoch, 0);
  assert.equal(epoch0.globalStep, 6);
  assert.equal(epoch0.checkpoint, straight.checkpoint);
  assert.ok(
    Math.abs(epoch0.meanLoss - straight.meanLoss) < 1e-5,
    `${epoch0.meanLoss} vs ${straight.meanLoss}`,
  );
  assert.ok(Math.abs(epoch0.meanContrastiveAcc - straight.meanContrastiveAcc) < 1e-6);
  assert.equal(epoch0.imagesPerSec, straight.imagesPerSec);
  assert.ok(epoch0.time && Math.abs(epoch0.time.stepsSeconds - straight.time!.stepsSeconds) < 1e-9);
});
