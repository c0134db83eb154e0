/**
 * Two experiments on the same dataset, with the same augmentation and seed, run at the same time on a
 * real Temporal dev server with real workers and the filesystem store. Each deletes the views of the
 * epochs it consumed; with views keyed per experiment (storage/layout.ts) neither deletes the other's,
 * so both complete without a retried epoch, and no view is left behind.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parseExperiment } from '../../config/load';
import { generateShapesDataset } from '../../simclr/datasets/synthetic';
import { FsBlobStore } from '../../storage/fs-store';
import { parseViewsId } from '../../storage/layout';
import type { WorkersHandle } from '../../workers/run-workers';
import { experiment } from '../../workflows/experiment';
import { CPU_QUEUE, type ExperimentResults, type PretrainLoopInput } from '../../contracts';
import { startTestTemporal, startTestWorkers } from '../helpers/temporal';

let temporal: TestWorkflowEnvironment;
let workers: WorkersHandle;
let work: string;
const savedEnv = { ...process.env };

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'simclr-concurrent-'));
  Object.assign(process.env, {
    SIMCLR_HOME: join(work, 'home'),
    SIMCLR_STORE: `file://${join(work, 'store')}`,
  });
  temporal = await startTestTemporal();
  workers = await startTestWorkers(temporal);
});

after(async () => {
  await workers?.shutdown();
  await temporal?.teardown();
  rmSync(work, { recursive: true, force: true });
  process.env = savedEnv;
});

/** The input the pretrain loop of `experimentId` was started with. */
async function loopInput(experimentId: string): Promise<PretrainLoopInput> {
  const history = await temporal.client.workflow.getHandle(`${experimentId}/pretrain`).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  assert.ok(payload, `the pretrain loop of ${experimentId} has a start input`);
  return temporal.client.options.loadedDataConverter.payloadConverter.fromPayload(payload);
}

/** The highest attempt of any pretrainEpoch of the pretrain loop of `experimentId` (1: never retried). */
async function maxPretrainAttempt(experimentId: string): Promise<number> {
  const history = await temporal.client.workflow.getHandle(`${experimentId}/pretrain`).fetchHistory();
  return Math.max(...(history.events ?? []).map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 1));
}

test('two experiments on one dataset at the same time both complete, each on its own views', async () => {
  const images = join(work, 'shapes');
  await generateShapesDataset(images, { imagesPerClass: 20, testImagesPerClass: 5, size: 16, seed: 3 });
  const config = parseExperiment(
    {
      name: 'concurrent',
      seed: 7,
      backend: 'tensorflow',
      dataset: { source: images, format: 'folder', imageSize: 16, channels: 1, shardSize: 64 },
      augmentation: { lookaheadEpochs: 2 },
      model: { encoder: 'resnet-mini' },
      pretrain: { epochs: 3, batchSize: 32, warmupEpochs: 1, checkpointEverySteps: 3, knnEveryEpochs: 0 },
      fineTune: { labelFractions: [0.5], epochs: 1, batchSize: 32 },
      evaluation: {
        linear: { epochs: 1 },
        randomInitBaseline: false,
        baselines: { pixels: false, supervised: false, scratchFineTune: false },
      },
    },
    'concurrent runs test',
  );
  const ids = ['concurrent-a', 'concurrent-b'];
  const handles = await Promise.all(
    ids.map((experimentId) =>
      temporal.client.workflow.start(experiment, {
        taskQueue: CPU_QUEUE,
        workflowId: experimentId,
        args: [{ experimentId, config }],
      }),
    ),
  );
  const results: ExperimentResults[] = await Promise.all(handles.map((h) => h.result()));
  assert.equal(results.length, 2);

  const [a, b] = await Promise.all(ids.map(loopInput));
  assert.equal(a.dataset.datasetId, b.dataset.datasetId, 'one dataset');
  assert.notEqual(a.augmentationId, b.augmentationId, 'each experiment has its own views');
  assert.equal(parseViewsId(a.augmentationId)?.experimentId, 'concurrent-a');
  assert.equal(parseViewsId(a.augmentationId)?.fingerprint, parseViewsId(b.augmentationId)?.fingerprint);
  for (const id of ids) assert.equal(await maxPretrainAttempt(id), 1, `no epoch of ${id} was retried`);
  const store = new FsBlobStore(join(work, 'store'));
  assert.deepEqual(
    (await store.list('augment/')).map((o) => o.key),
    [],
    'every consumed epoch of views was deleted, by its own experiment',
  );
  // Retention (defaults: the last 2, and the final one) bounded each run's checkpoints.
  for (const id of ids) {
    const committed = (await store.list(`experiments/${id}/checkpoints/step-`)).filter((o) =>
      o.key.endsWith('/MANIFEST.json'),
    );
    assert.equal(committed.length, 2, `${id}: ${committed.map((o) => o.key).join(', ')}`);
  }
});
