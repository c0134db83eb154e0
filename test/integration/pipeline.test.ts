/**
 * End to end, the way a deployment runs it: a real Temporal dev server, a real MinIO as the store,
 * the cpu and gpu workers, a small real experiment on Fashion-MNIST that must learn (linear evaluation
 * of the pretrained encoder beats the random-init baseline) with its baselines (raw pixels, supervised
 * upper bound that must learn, training from scratch), then a replay of the recorded history.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal as proto } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadExperimentFile } from '../../config/load';
import { readMetrics } from '../../report/metrics';
import { MinioBlobStore } from '../../storage/minio-store';
import type { WorkersHandle } from '../../workers/run-workers';
import { experiment, progressQuery } from '../../workflows/experiment';
import { CPU_QUEUE, type ExperimentProgress, type ExperimentResults } from '../../contracts';
import { startTestMinio, type TestMinio } from '../helpers/minio';
import { startTestTemporal, startTestWorkers } from '../helpers/temporal';

const History = proto.api.history.v1.History;
const FIXTURES = join(__dirname, '..', 'fixtures');
const BUCKET = 'simclr-e2e';

let temporal: TestWorkflowEnvironment;
let minio: TestMinio;
let workers: WorkersHandle;
const savedEnv = { ...process.env };

before(async () => {
  temporal = await startTestTemporal();
  minio = await startTestMinio();
  Object.assign(process.env, minio.env(BUCKET), { SIMCLR_STORE: `s3://${BUCKET}` });
  workers = await startTestWorkers(temporal);
});

after(async () => {
  await workers?.shutdown();
  await minio?.stop();
  await temporal?.teardown();
  process.env = savedEnv;
});

test('an experiment runs every stage on MinIO and its encoder beats random init; its history replays', async () => {
  const config = await loadExperimentFile(join(FIXTURES, 'e2e-small.yaml'));
  const experimentId = `e2e-minio-${Date.now()}`;
  const handle = await temporal.client.workflow.start(experiment, {
    taskQueue: CPU_QUEUE,
    workflowId: experimentId,
    args: [{ experimentId, config }],
  });
  const results: ExperimentResults = await handle.result();

  // It learned: the paper's linear evaluation protocol, against the same architecture at random init.
  assert.ok(results.baseline, 'the random-init baseline was evaluated');
  const margin = results.pretrained.linear.top1 - results.baseline.linear.top1;
  assert.ok(
    margin > 0.05,
    `linear top-1 ${results.pretrained.linear.top1} vs random init ${results.baseline.linear.top1}`,
  );
  assert.ok(results.pretrained.knn.top1 > results.baseline.knn.top1, 'kNN beats random init');
  assert.equal(results.fineTune.length, 1);
  assert.ok(results.fineTune[0].top1 > 0.3, `fine-tune on 10 % of labels: ${results.fineTune[0].top1}`);

  // The baselines ran (evaluation.baselines defaults on): raw pixels with the encoders' protocols, the
  // supervised upper bound (random init, all labels, pretrain.epochs), training from scratch per fraction.
  const b = results.baselines;
  assert.ok(b?.pixels && b.supervised && b.scratchFineTune, `baselines: ${JSON.stringify(b)}`);
  assert.equal(b.pixels.encoder, 'pixels');
  // Raw Fashion-MNIST pixels are linearly separable to ~80 %; chance is 10 %.
  assert.ok(b.pixels.linear.top1 > 0.6, `raw-pixel linear top-1 ${b.pixels.linear.top1}`);
  assert.ok(b.pixels.knn.top1 > 0.5, `raw-pixel kNN top-1 ${b.pixels.knn.top1}`);
  assert.equal(b.supervised.epochs, config.pretrain.epochs);
  assert.equal(b.supervised.labelledImages, 2048);
  // 3 epochs of 32 steps from random init: well above chance (10 %), far from converged (55 % when written).
  assert.ok(b.supervised.top1 > 0.35, `the supervised baseline learns: top-1 ${b.supervised.top1}`);
  assert.deepEqual(
    b.scratchFineTune.map((f) => [f.fraction, f.labelledImages]),
    results.fineTune.map((f) => [f.fraction, f.labelledImages]),
  );
  assert.ok(b.scratchFineTune[0].top1 > 0.2, `from scratch on 10 %: ${b.scratchFineTune[0].top1}`);

  // Every stage ran and is visible to the progress query.
  const progress: ExperimentProgress = await handle.query(progressQuery);
  assert.equal(progress.stage, 'done');
  assert.deepEqual(
    progress.stages.map((s) => s.stage),
    ['validate', 'shard', 'pretrain', 'finetune', 'evaluate', 'baselines', 'report'],
  );
  assert.equal(progress.epoch, 3);

  // The pretrain loop continued as new after 2 epochs (pretrain.epochsPerRun) and carried its state over.
  const loopRuns: string[] = [];
  for await (const w of temporal.client.workflow.list({ query: `WorkflowId = '${experimentId}/pretrain'` }))
    loopRuns.push(w.status.name);
  assert.deepEqual(loopRuns.sort(), ['COMPLETED', 'CONTINUED_AS_NEW']);

  // The artifacts are in MinIO: dataset manifest, checkpoints, report; consumed views were deleted.
  const store = await MinioBlobStore.open(minio.storeOptions(BUCKET));
  assert.ok(await store.exists(results.reportHtmlKey), 'report.html written');
  assert.ok(await store.exists(results.reportKey), 'report.json written');
  const report = JSON.parse((await store.get(results.reportKey)).toString('utf8'));
  assert.equal(report.results.linear.top1, results.pretrained.linear.top1);
  assert.deepEqual(report.results.baselines, {
    pixels: { linear: b.pixels.linear, knn: { top1: b.pixels.knn.top1, top5: b.pixels.knn.top5 } },
    supervised: b.supervised,
    scratchFineTune: b.scratchFineTune,
  });
  const html = (await store.get(results.reportHtmlKey)).toString('utf8');
  assert.ok(
    html.includes('SimCLR against the baselines') && /pts [✓✗=]/.test(html),
    'report.html has the verdicts',
  );
  const stages = new Set(
    (await readMetrics(store, experimentId))
      .filter((m) => m.encoder === 'pixels' || m.stage === 'supervised')
      .map((m) => `${m.encoder}/${m.stage}`),
  );
  assert.deepEqual([...stages].sort(), ['pixels/knn', 'pixels/linear', 'random-init/supervised']);
  assert.ok(
    (await store.list(`experiments/${experimentId}/checkpoints/`)).some((o) =>
      o.key.endsWith('MANIFEST.json'),
    ),
  );
  assert.equal((await store.list('augment/')).length, 0, 'every consumed epoch of views was deleted');
  assert.ok((await store.list(`experiments/${experimentId}/metrics/`)).length > 0, 'metrics chunks written');

  // Determinism: the recorded histories (experiment and pretrain loop) replay against today's workflow code.
  const recorded = [
    { workflowId: experimentId, history: await handle.fetchHistory() },
    {
      workflowId: `${experimentId}/pretrain`,
      history: await temporal.client.workflow.getHandle(`${experimentId}/pretrain`).fetchHistory(),
    },
  ];
  for (const { workflowId, history } of recorded) {
    await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history, workflowId);
  }
  if (process.env.SIMCLR_RECORD_HISTORY) {
    const json = recorded.map((r) => ({
      workflowId: r.workflowId,
      history: Buffer.from(History.encode(r.history).finish()).toString('base64'),
    }));
    writeFileSync(join(FIXTURES, 'recorded-histories.json'), JSON.stringify(json, null, 1) + '\n');
  }
});

test('recorded histories replay against the current workflow code', async () => {
  // Recorded from a real run (SIMCLR_RECORD_HISTORY=1 npm test -- pipeline; protobuf, base64); a change to the
  // workflows that would break executions already running fails here.
  const recorded = JSON.parse(readFileSync(join(FIXTURES, 'recorded-histories.json'), 'utf8')) as {
    workflowId: string;
    history: string;
  }[];
  assert.equal(recorded.length, 2);
  for (const { workflowId, history } of recorded) {
    await Worker.runReplayHistory(
      { workflowsPath: require.resolve('../../workflows') },
      History.decode(Buffer.from(history, 'base64')),
      workflowId,
    );
  }
});
