/**
 * Checkpoint retention (simclr/checkpoint-retention.ts) through a real short pretraining: three epochs
 * of six steps with a checkpoint every two, keep the last 2 and every 2nd epoch's end. Epoch 1 is
 * cancelled mid-way, and its retry gets a stale heartbeat naming a checkpoint retention has deleted
 * since (the server's heartbeat lags when heartbeats are throttled); it resumes from the newest
 * checkpoint of the epoch instead. After each epoch the store holds exactly the expected steps.
 * Also: views are the experiment's own (two experiments on one dataset never delete each other's).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { ExperimentConfig } from '../../config/schema';
import { deleteAugmentations, precomputeAugmentations } from '../../activities/augment';
import { activityStore } from '../../activities/context';
import { preparePretraining, pretrainEpoch, stepsPerEpoch } from '../../activities/pretrain';
import { initBackend } from '../../simclr/backend';
import {
  applyRetention,
  recordedPolicy,
  retentionPolicy,
  stepsToKeep,
} from '../../simclr/checkpoint-retention';
import { FsBlobStore } from '../../storage/fs-store';
import { parseViewsId } from '../../storage/layout';
import type { DatasetManifest, PretrainEpochResult, PretrainHeartbeat } from '../../contracts';
import { shapesPretrainFixture } from '../helpers/activity-fixture';

let work: string;
let config: ExperimentConfig;
let dataset: DatasetManifest;
const savedEnv = { ...process.env };
const quiet = { logger: new DefaultLogger('ERROR') };

before(async () => {
  await initBackend('tensorflow');
  ({ work, config, dataset } = await shapesPretrainFixture('simclr-retention-', {
    name: 'retention',
    seed: 1,
    pretrain: {
      epochs: 3,
      batchSize: 32,
      warmupEpochs: 1,
      checkpointEverySteps: 2,
      knnEveryEpochs: 0,
      checkpointRetention: { keepLast: 2, keepEveryEpochs: 2 },
    },
  }));
});

after(() => {
  rmSync(work, { recursive: true, force: true });
  process.env = savedEnv;
});

test('the policy keeps the newest K, the epoch ends asked for, the final one and what LATEST names', () => {
  const policy = { keepLast: 2, keepEveryEpochs: 2, epochs: 3, stepsPerEpoch: 6 };
  const keep = (steps: number[], pinned: number[] = []) =>
    [...stepsToKeep(steps, policy, pinned)].sort((a, b) => a - b);
  assert.deepEqual(keep([2, 4, 6, 8, 9, 10, 12, 14, 16, 18]), [12, 16, 18]);
  assert.deepEqual(keep([2, 4, 6]), [4, 6]);
  assert.deepEqual(keep([2, 4, 6], [2]), [2, 4, 6], 'LATEST is never deleted');
  assert.deepEqual(keep([3]), [3]);
  assert.deepEqual(keep([]), []);
  assert.deepEqual(
    [...stepsToKeep([6, 12, 18, 24], { ...policy, keepLast: 1, keepEveryEpochs: 0, epochs: 4 })],
    [24],
    'keepEveryEpochs 0: only the newest and the final',
  );
  // Configs recorded before retention existed get the defaults (config/defaults.ts).
  assert.deepEqual(retentionPolicy({ epochs: 10 }, 5), {
    keepLast: 2,
    keepEveryEpochs: 0,
    epochs: 10,
    stepsPerEpoch: 5,
  });
});

const steps = async (experimentId: string): Promise<number[]> => {
  const store = await activityStore();
  return (await store.list(`experiments/${experimentId}/checkpoints/step-`))
    .filter((o) => o.key.endsWith('/MANIFEST.json'))
    .map((o) => Number(/step-(\d+)\//.exec(o.key)![1]));
};

test('a real pretraining with a cancel and a stale-heartbeat retry keeps exactly the policy’s checkpoints', async () => {
  const id = 'retained';
  const store = await activityStore();
  const S = stepsPerEpoch(config, dataset);
  assert.equal(S, 6);
  const prep = await preparePretraining({ experimentId: id, config, dataset, resume: false });
  const input = (epoch: number, checkpoint?: string) => ({
    experimentId: id,
    config,
    dataset,
    augmentationId: prep.augmentationId,
    epoch,
    stepsPerEpoch: S,
    checkpoint,
  });

  // Epoch 0: checkpoints at 2, 4, 6; the newest two stay.
  const e0: PretrainEpochResult = await new MockActivityEnvironment(undefined, quiet).run(
    pretrainEpoch,
    input(0),
  );
  assert.deepEqual(await steps(id), [4, 6]);

  // Epoch 1, attempt 1: cancelled at step 9 (periodic checkpoint at 8, the cancel checkpoint at 9).
  const first = new MockActivityEnvironment({ attempt: 1 }, quiet);
  let beats = 0;
  first.on(
    'heartbeat',
    (d: PretrainHeartbeat) => typeof d?.step === 'number' && ++beats === 3 && first.cancel(),
  );
  await assert.rejects(first.run(pretrainEpoch, input(1, e0.checkpoint)), CancelledFailure);
  assert.deepEqual(await steps(id), [8, 9], 'step 4 and 6 pruned after 8 and 9 were committed');

  // Attempt 2 gets a stale heartbeat (step 7, checkpoint 6, pruned since): it starts from 9, not from scratch.
  const stale: PretrainHeartbeat = {
    epoch: 1,
    step: 7,
    stepsPerEpoch: S,
    loss: 1,
    checkpoint: e0.checkpoint,
  };
  const second = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: stale }, quiet);
  const resumedSteps: number[] = [];
  second.on('heartbeat', (d: PretrainHeartbeat) => typeof d?.step === 'number' && resumedSteps.push(d.step));
  const e1: PretrainEpochResult = await second.run(pretrainEpoch, input(1, e0.checkpoint));
  assert.equal(resumedSteps[0], 10, `resumed after step 9: ${resumedSteps.join(', ')}`);
  assert.equal(e1.globalStep, 12);
  assert.deepEqual(await steps(id), [10, 12]);

  // Epoch 2 (the last): the end of epoch 2 (every 2nd) and the final one stay besides the newest two.
  const e2: PretrainEpochResult = await new MockActivityEnvironment(undefined, quiet).run(
    pretrainEpoch,
    input(2, e1.checkpoint),
  );
  assert.equal(e2.globalStep, 18);
  assert.deepEqual(await steps(id), [12, 16, 18]);
  assert.equal(
    (await store.get(`experiments/${id}/checkpoints/LATEST`)).toString('utf8'),
    `experiments/${id}/checkpoints/step-00000018`,
  );
  assert.deepEqual(await recordedPolicy(store, `experiments/${id}/checkpoints`), {
    keepLast: 2,
    keepEveryEpochs: 2,
    epochs: 3,
    stepsPerEpoch: 6,
  });
  // No folder of a pruned checkpoint is left, not even partly.
  const folders = new Set(
    (await store.list(`experiments/${id}/checkpoints/step-`)).map((o) => /step-(\d+)\//.exec(o.key)![1]),
  );
  assert.deepEqual(
    [...folders].map(Number).sort((a, b) => a - b),
    [12, 16, 18],
  );
  // Idempotent: pruning again removes nothing.
  const policy = retentionPolicy(config.pretrain, S);
  assert.deepEqual(await applyRetention(store, `experiments/${id}/checkpoints`, policy), []);
});

test('an uncommitted folder is removed only once it is older than the newest commit and untouched for the min age', async () => {
  const store = new FsBlobStore(join(work, 'uncommitted'));
  const prefix = 'experiments/x/checkpoints';
  for (const step of [2, 4, 6]) {
    await store.put(`${prefix}/step-0000000${step}/optimizer.bin`, 'x');
    if (step !== 2 && step !== 6) await store.put(`${prefix}/step-0000000${step}/MANIFEST.json`, '{}');
  }
  // Step 2: a crash's remains (older than the newest commit); step 6: being written (newer). Nothing committed is pruned.
  const policy = { keepLast: 2, keepEveryEpochs: 0, epochs: 10, stepsPerEpoch: 100 };
  assert.deepEqual(await applyRetention(store, prefix, policy), [], 'young: kept');
  const later = new Date(Date.now() + 2 * 60 * 60 * 1000);
  const dry = await applyRetention(store, prefix, policy, { now: later, dryRun: true });
  assert.deepEqual(
    dry.map((f) => f.step),
    [2],
  );
  assert.ok(await store.exists(`${prefix}/step-00000002/optimizer.bin`), 'a dry run deletes nothing');
  await applyRetention(store, prefix, policy, { now: later });
  assert.equal(await store.exists(`${prefix}/step-00000002/optimizer.bin`), false);
  assert.ok(await store.exists(`${prefix}/step-00000006/optimizer.bin`), 'a newer uncommitted folder stays');
});

test('two experiments on one dataset have their own views: one deleting its epoch leaves the other’s', async () => {
  const store = await activityStore();
  const a = await preparePretraining({ experimentId: 'views-a', config, dataset, resume: false });
  const b = await preparePretraining({ experimentId: 'views-b', config, dataset, resume: false });
  assert.notEqual(a.augmentationId, b.augmentationId);
  assert.equal(parseViewsId(a.augmentationId)?.experimentId, 'views-a');
  assert.equal(parseViewsId(a.augmentationId)?.fingerprint, parseViewsId(b.augmentationId)?.fingerprint);
  const again = await preparePretraining({ experimentId: 'views-a', config, dataset, resume: true });
  assert.equal(again.augmentationId, a.augmentationId, 'a resumed run finds its own views');

  const env = new MockActivityEnvironment(undefined, quiet);
  const made: { key: string } = await env.run(precomputeAugmentations, {
    config,
    dataset,
    augmentationId: b.augmentationId,
    epoch: 0,
    shard: 0,
  });
  await env.run(precomputeAugmentations, {
    config,
    dataset,
    augmentationId: a.augmentationId,
    epoch: 0,
    shard: 0,
  });
  await env.run(deleteAugmentations, { dataset, augmentationId: a.augmentationId, epoch: 0 });
  assert.ok(
    await store.exists(made.key),
    `experiment b's views of epoch 0 survive a's deletion: ${made.key}`,
  );
});
