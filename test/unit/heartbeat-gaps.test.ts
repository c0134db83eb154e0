/**
 * Heartbeat starvation (issue 8, failure path 2): every long loop of an activity heartbeats per unit of
 * work, so the heartbeat timeout (60 s for pretraining, 2 min elsewhere) bounds one unit (an image, a
 * directory, a feature batch, a block of kNN queries), never a whole loop. Each activity runs in a
 * MockActivityEnvironment on a small real input (PNG files written with sharp, a real store, real tfjs)
 * and its heartbeats are recorded: for every loop, the work between two consecutive heartbeats and
 * before the first / after the last one is asserted from the progress the heartbeats carry, against
 * the work per heartbeat the code promises (not against wall-clock speed). The longest wall-clock gap
 * is printed for the record.
 *
 * A training step blocks the event loop from start to end (tfjs-node ops are synchronous), so no
 * heartbeat can happen inside one: pretrainEpoch warns with the measured step time when one step
 * comes near the heartbeat timeout (tested below).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, type LogLevel } from '@temporalio/worker';
import { parseExperiment } from '../../config/load';
import type { ExperimentConfig } from '../../config/schema';
import {
  AUGMENT_IMAGES_PER_HEARTBEAT,
  augmentationId,
  augmentParams,
  augmentShardKey,
  precomputeAugmentationRange,
  precomputeAugmentations,
  shardOffsets,
} from '../../activities/augment';
import { activityStore } from '../../activities/context';
import { augmentBatch } from '../../simclr/augment';
import { decodeShard } from '../../simclr/datasets/shard-format';
import type { Progress } from '../../activities/context';
import { commitDataset, inspectDataset, shardDataset } from '../../activities/dataset';
import { locateSource, WALK_FILES_PER_HEARTBEAT } from '../../activities/dataset-source';
import { evaluateRepresentation } from '../../activities/evaluate';
import { FEATURE_BATCH, pretrainEpoch, slowStepWarning, stepsPerEpoch } from '../../activities/pretrain';
import { initBackend } from '../../simclr/backend';
import { generateShapesDataset } from '../../simclr/datasets/synthetic';
import type {
  DatasetManifest,
  DatasetPlan,
  PretrainEpochResult,
  PrecomputeRangeResult,
  PretrainHeartbeat,
  ShardResult,
} from '../../contracts';

let work: string;
let images: string;
let config: ExperimentConfig;
let plan: DatasetPlan;
let dataset: DatasetManifest;
const savedEnv = { ...process.env };
const quiet = { logger: new DefaultLogger('ERROR') };

interface Beat {
  at: number;
  details: { progress?: Progress } & Record<string, unknown>;
}

/** Runs `fn` as an activity and records every heartbeat it sends, with its time. */
async function recordHeartbeats<R>(
  run: (env: MockActivityEnvironment) => Promise<R>,
): Promise<{ result: R; beats: Beat[]; maxGapMs: number }> {
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 60_000 }, quiet);
  const beats: Beat[] = [];
  const t0 = performance.now();
  env.on('heartbeat', (details: Beat['details']) =>
    beats.push({ at: performance.now(), details: details ?? {} }),
  );
  const result = await run(env);
  const times = [t0, ...beats.map((b) => b.at), performance.now()];
  const maxGapMs = Math.max(...times.slice(1).map((t, i) => t - times[i]));
  return { result, beats, maxGapMs };
}

/**
 * The progress heartbeats of `stage`: they start within `perBeat` units of the loop's start, advance by at
 * most `perBeat` units each, and the last one reports the whole loop (`total`).
 */
function assertStageCovered(beats: Beat[], stage: string, perBeat: number, total: number): number {
  const done = beats.filter((b) => b.details.progress?.stage === stage).map((b) => b.details.progress!.done);
  assert.ok(
    done.length > 0,
    `heartbeats during '${stage}' (stages seen: ${[...new Set(beats.map((b) => b.details.progress?.stage))].join(', ')})`,
  );
  let previous = 0;
  for (const d of done) {
    assert.ok(
      d - previous <= perBeat,
      `'${stage}': ${d - previous} units between heartbeats (at most ${perBeat})`,
    );
    assert.ok(d >= previous, `'${stage}' progress never goes back`);
    previous = d;
  }
  assert.equal(previous, total, `the last heartbeat of '${stage}' reports all ${total} units`);
  return done.length;
}

before(async () => {
  await initBackend('tensorflow');
  work = mkdtempSync(join(tmpdir(), 'simclr-heartbeats-'));
  Object.assign(process.env, {
    SIMCLR_HOME: join(work, 'home'),
    SIMCLR_STORE: `file://${join(work, 'store')}`,
  });
  images = join(work, 'shapes');
  // 10 classes × 10 train + 2 test images of 16 px (real PNGs), shards of 72: train shards of 72 and 28
  // images (more than one AUGMENT_IMAGES_PER_HEARTBEAT chunk), one test shard of 20.
  await generateShapesDataset(images, { imagesPerClass: 10, testImagesPerClass: 2, size: 16, seed: 2 });
  config = parseExperiment(
    {
      name: 'heartbeat-gaps',
      seed: 6,
      backend: 'tensorflow',
      dataset: { source: images, format: 'folder', imageSize: 16, channels: 1, shardSize: 72 },
      model: { encoder: 'resnet-mini' },
      pretrain: { epochs: 1, batchSize: 16, warmupEpochs: 0, checkpointEverySteps: 100, knnEveryEpochs: 1 },
      evaluation: { linear: { epochs: 2 } },
    },
    'heartbeat-gaps test',
  );
});

after(() => {
  rmSync(work, { recursive: true, force: true });
  process.env = savedEnv;
});

test('the walk of a source folder heartbeats every directory and every WALK_FILES_PER_HEARTBEAT files', async () => {
  // A big flat folder: more files than one heartbeat's worth, next to the dataset's nested folders.
  const big = join(work, 'big');
  mkdirSync(join(big, 'a', 'b'), { recursive: true });
  const n = 2 * WALK_FILES_PER_HEARTBEAT + 37;
  for (let i = 0; i < n; i++) writeFileSync(join(big, 'a', i % 2 ? 'b' : '', `f-${i}.bin`), '');
  const { beats, maxGapMs } = await recordHeartbeats((env) => env.run(locateSource, big));
  const count = assertStageCovered(beats, 'list source files', WALK_FILES_PER_HEARTBEAT, n);
  assert.ok(count >= Math.floor(n / WALK_FILES_PER_HEARTBEAT), `${count} heartbeats for ${n} files`);
  console.log(`walk of ${n} files: ${count} heartbeats, longest gap ${maxGapMs.toFixed(0)} ms`);
});

test('shardDataset heartbeats after every decoded image (and through the listing)', async () => {
  plan = await new MockActivityEnvironment(undefined, quiet).run(inspectDataset, {
    experimentId: 'hb',
    config,
  });
  const shards: ShardResult[] = [];
  let longest = 0;
  for (const split of ['train', 'test'] as const) {
    for (let shard = 0; shard < plan.splits[split].shards; shard++) {
      const { result, beats, maxGapMs } = await recordHeartbeats((env): Promise<ShardResult> =>
        env.run(shardDataset, { config, plan, split, shard }),
      );
      const count = Math.min(plan.shardSize, plan.splits[split].count - shard * plan.shardSize);
      assertStageCovered(beats, `decode ${split} shard ${shard}`, 1, count);
      assert.ok(
        beats.some((b) => b.details.progress?.stage.startsWith('list ')),
        'the listing of the image folder heartbeats',
      );
      longest = Math.max(longest, maxGapMs);
      shards.push(result);
    }
  }
  dataset = await commitDataset({ config, plan, shards });
  console.log(`shardDataset: longest heartbeat gap ${longest.toFixed(0)} ms`);
});

test('the kNN monitor after a pretraining epoch heartbeats per shard, feature batch and query block, keeping the resume point', async () => {
  assert.ok(dataset, 'the dataset of the previous test');
  const input = {
    experimentId: 'hb',
    config,
    dataset,
    augmentationId: augmentationId(config, dataset),
    epoch: 0,
    stepsPerEpoch: stepsPerEpoch(config, dataset),
  };
  const { result, beats, maxGapMs } = await recordHeartbeats((env): Promise<PretrainEpochResult> =>
    env.run(pretrainEpoch, input),
  );
  assert.ok(result.knnTop1 !== undefined, 'the monitor ran');
  const trainShards = dataset.splits.train.shards.length;
  const testShards = dataset.splits.test.shards.length;
  assertStageCovered(beats, 'knn: read train shards', 1, trainShards);
  assertStageCovered(beats, 'knn: read test shards', 1, testShards);
  assertStageCovered(beats, 'knn: train features', FEATURE_BATCH, dataset.splits.train.count);
  assertStageCovered(beats, 'knn: test features', FEATURE_BATCH, dataset.splits.test.count);
  assertStageCovered(beats, 'knn: votes', 256, dataset.splits.test.count);
  // Every heartbeat of the monitor still says where a retry resumes: the epoch-end checkpoint.
  for (const b of beats.filter((x) => x.details.progress?.stage.startsWith('knn'))) {
    const d = b.details as unknown as PretrainHeartbeat;
    assert.equal(d.checkpoint, result.checkpoint);
    assert.equal(d.step, result.globalStep);
  }
  // Views computed inline (nothing was precomputed) heartbeat with the attempt's resume point.
  const inline = beats.filter((b) => b.details.progress?.stage.startsWith('augment'));
  for (const b of inline) assert.equal(typeof (b.details as unknown as PretrainHeartbeat).step, 'number');
  // Training heartbeats every step before the monitor.
  const steps = beats
    .filter((b) => b.details.progress === undefined)
    .map((b) => (b.details as unknown as PretrainHeartbeat).step);
  for (let s = 1; s <= input.stepsPerEpoch; s++) assert.ok(steps.includes(s), `a heartbeat after step ${s}`);
  console.log(
    `pretrainEpoch with the kNN monitor: ${beats.length} heartbeats, longest gap ${maxGapMs.toFixed(0)} ms`,
  );
});

test('precomputeAugmentations heartbeats every AUGMENT_IMAGES_PER_HEARTBEAT images', async () => {
  assert.ok(dataset, 'the dataset of the earlier test');
  const augId = augmentationId(config, dataset);
  for (let shard = 0; shard < dataset.splits.train.shards.length; shard++) {
    const { result, beats } = await recordHeartbeats((env): Promise<{ skipped: boolean }> =>
      env.run(precomputeAugmentations, { config, dataset, augmentationId: augId, epoch: 1, shard }),
    );
    assert.equal(result.skipped, false);
    assert.ok(
      shard > 0 || dataset.splits.train.shards[0].count > AUGMENT_IMAGES_PER_HEARTBEAT,
      'several chunks',
    );
    const stage = `augment epoch 1 shard ${shard}`;
    assertStageCovered(beats, stage, AUGMENT_IMAGES_PER_HEARTBEAT, dataset.splits.train.shards[shard].count);
    // Augmented in chunks, the views are the bytes of one augmentBatch call over the whole shard.
    const store = await activityStore();
    const source = decodeShard(await store.get(dataset.splits.train.shards[shard].key));
    const whole = augmentBatch(
      source.pixels,
      source.shape,
      augmentParams(config, dataset),
      config.seed,
      1,
      shardOffsets(dataset)[shard],
    );
    const stored = decodeShard(await store.get(augmentShardKey(dataset.datasetId, augId, 1, shard)));
    assert.deepEqual(stored.pixels, Buffer.concat([whole.view1, whole.view2]));
  }
});

test('precomputeAugmentationRange heartbeats every shard of its range, also those whose views it keeps', async () => {
  assert.ok(dataset, 'the dataset of the earlier test');
  const shards = { from: 0, to: dataset.splits.train.shards.length };
  assert.ok(shards.to > 1, 'a range of several shards');
  // Epoch 1's views were written by the previous test: every shard is checked and kept.
  const input = { config, dataset, augmentationId: augmentationId(config, dataset), epoch: 1, shards };
  const { result, beats } = await recordHeartbeats((env): Promise<PrecomputeRangeResult> =>
    env.run(precomputeAugmentationRange, input),
  );
  assert.equal(result.reused, shards.to);
  assertStageCovered(beats, 'augment epoch 1 shards', 1, shards.to);
});

test('evaluation heartbeats through shard reads, feature extraction, linear epochs and kNN votes', async () => {
  assert.ok(dataset, 'the dataset of the earlier test');
  const { beats, maxGapMs } = await recordHeartbeats((env) =>
    env.run(evaluateRepresentation, { experimentId: 'hb', config, dataset, encoder: 'random-init' as const }),
  );
  assertStageCovered(beats, 'read train shards', 1, dataset.splits.train.shards.length);
  assertStageCovered(beats, 'read test shards', 1, dataset.splits.test.shards.length);
  assertStageCovered(beats, 'knn votes', 256, dataset.splits.test.count);
  const features = beats
    .filter((b) => b.details.stage === 'train features')
    .map((b) => b.details.done as number);
  assert.deepEqual(features.at(-1), dataset.splits.train.count);
  const linear = beats.filter((b) => b.details.stage === 'linear');
  assert.equal(linear.length, config.evaluation.linear.epochs, 'one heartbeat per linear epoch');
  console.log(`evaluateRepresentation: ${beats.length} heartbeats, longest gap ${maxGapMs.toFixed(0)} ms`);
});

test('a training step near the heartbeat timeout is reported once, with the measured time and the fix', async () => {
  const warnings: string[] = [];
  const logger = new DefaultLogger('WARN', (entry: { level: LogLevel; message: string }) => {
    if (entry.level === 'WARN') warnings.push(entry.message);
  });
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 10_000 }, { logger });
  await env.run(async () => {
    const check = slowStepWarning(4096);
    check(4.9); // under half the timeout: fine
    assert.equal(warnings.length, 0);
    check(6.2);
    check(12);
    assert.equal(warnings.length, 1, 'warned once per attempt');
  });
  assert.match(
    warnings[0],
    /one training step took 6\.2 s at pretrain\.batchSize 4096.*heartbeat timeout \(10 s\).*lower pretrain\.batchSize/,
  );
});
