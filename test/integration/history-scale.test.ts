/**
 * History that stays small at ImageNet size: the real experiment and pretrain-loop workflows on a real
 * Temporal dev server, on a synthetic 1,281,167-image dataset (626 train shards, 100 epochs of ResNet-50
 * at batch 4096), with activities that answer at once (test/helpers/imagenet-scale.ts; stubbed only in
 * this test). Every run (the experiment, each continue-as-new run of its pretrain loop) must stay under
 * the bound the pretrain loop's doc comment states: 5,000 events and 5 MB, with no activity input
 * carrying the manifest; and the bounded fan-out must still cover every shard of every epoch.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestTemporal } from '../helpers/temporal';
import { IMAGENET, imagenetConfig, runAtImageNetScale, type RunHistory } from '../helpers/imagenet-scale';

/** The bound stated in workflows/pretrain-loop.ts and README "History size". */
const MAX_EVENTS = 5_000;
const MAX_BYTES = 5 * 1024 * 1024;
/** An activity input: the config and references, never the manifest (~80 KB at this size). */
const MAX_ACTIVITY_INPUT = 16 * 1024;
/** The report's input also carries every epoch's result (~370 bytes each): under Temporal's 512 KB payload warning. */
const MAX_REPORT_INPUT = 512 * 1024;

let temporal: TestWorkflowEnvironment;

before(async () => {
  temporal = await startTestTemporal();
});

after(async () => {
  await temporal?.teardown();
});

const table = (runs: RunHistory[]) =>
  runs
    .map(
      (r) =>
        `  ${r.workflowId.padEnd(36)} ${(r.bytes / 1024 / 1024).toFixed(2).padStart(6)} MB ` +
        `${String(r.events).padStart(6)} events, largest activity input ` +
        Object.entries(r.largestInputs)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 2)
          .map(([type, bytes]) => `${type} ${(bytes / 1024).toFixed(1)} KB`)
          .join(', '),
    )
    .join('\n');

test('an ImageNet-size experiment keeps every run of its history under 5,000 events and 5 MB', async () => {
  const config = imagenetConfig();
  const epochs = config.pretrain.epochs;
  const { runs, calls } = await runAtImageNetScale(temporal, {
    experimentId: 'imagenet-scale',
    config,
    committed: false,
  });
  console.log(
    `history per run at ImageNet size (${epochs} epochs, ${Math.ceil(IMAGENET.train / 2048)} shards):\n${table(runs)}`,
  );

  const loops = runs.slice(1);
  assert.ok(
    loops.length >= Math.ceil(epochs / config.pretrain.epochsPerRun),
    'the pretrain loop continued as new',
  );
  for (const r of runs) {
    assert.ok(r.events < MAX_EVENTS, `${r.workflowId} run ${r.runId}: ${r.events} events`);
    assert.ok(r.bytes < MAX_BYTES, `${r.workflowId} run ${r.runId}: ${r.bytes} bytes`);
    for (const [type, bytes] of Object.entries(r.largestInputs)) {
      const max = type === 'writeExperimentReport' ? MAX_REPORT_INPUT : MAX_ACTIVITY_INPUT;
      assert.ok(bytes < max, `${r.workflowId}: a ${type} input of ${bytes} bytes`);
    }
  }

  // The bounded fan-out still shards every shard once, and precomputes every shard of every epoch once.
  const all = (n: number) => Array.from({ length: n }, (_, i) => i);
  assert.deepEqual(
    [...calls.sharded.train].sort((a, b) => a - b),
    all(Math.ceil(IMAGENET.train / 2048)),
  );
  assert.deepEqual(
    [...calls.sharded.test].sort((a, b) => a - b),
    all(Math.ceil(IMAGENET.test / 2048)),
  );
  assert.deepEqual(
    [...calls.precomputed.keys()].sort((a, b) => a - b),
    all(epochs),
  );
  for (const [epoch, shards] of calls.precomputed) {
    // A continue-as-new run asks again for the views the previous run's look-ahead had asked for.
    assert.deepEqual(
      [...new Set(shards)].sort((a, b) => a - b),
      all(Math.ceil(IMAGENET.train / 2048)),
      `epoch ${epoch}`,
    );
  }
});
