/**
 * A bad input fails once: an experiment on an unlabelled image folder, through a real Temporal dev
 * server and a real cpu worker, fails in inspectDataset on its first attempt with a non-retryable
 * DatasetError that names the folder, before any shard is written, and the workflow fails with it.
 * (Before, the run went on to shard and pretrain, and failed only at evaluation, retried 10–20 times.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { temporal as proto } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parseExperiment } from '../../config/load';
import { CPU_QUEUE, NON_RETRYABLE_ERRORS } from '../../contracts';
import { temporalTarget } from '../../infra/temporal-connection';
import { startWorkers, type WorkersHandle } from '../../workers/run-workers';
import { experiment } from '../../workflows/experiment';
import { startTestTemporal } from '../helpers/temporal';

const EventType = proto.api.enums.v1.EventType;

let temporal: TestWorkflowEnvironment;
let workers: WorkersHandle;
let work: string;
const savedEnv = { ...process.env };

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'simclr-nonretry-'));
  Object.assign(process.env, {
    SIMCLR_HOME: join(work, 'home'),
    SIMCLR_STORE: `file://${join(work, 'store')}`,
  });
  temporal = await startTestTemporal();
  workers = await startWorkers({ queues: ['cpu'], target: temporalTarget({ address: temporal.address }) });
});

after(async () => {
  await workers?.shutdown();
  await temporal?.teardown();
  rmSync(work, { recursive: true, force: true });
  process.env = savedEnv;
});

test('an unlabelled folder fails in inspectDataset on the first attempt, not retried', async () => {
  const flat = join(work, 'flat');
  mkdirSync(flat);
  for (let i = 0; i < 12; i++) {
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 20 * i, g: 0, b: 0 } } })
      .png()
      .toFile(join(flat, `img-${i}.png`));
  }
  const config = parseExperiment(
    {
      name: 'unlabelled',
      dataset: { source: flat, imageSize: 8, shardSize: 8 },
      model: { encoder: 'resnet-mini' },
      pretrain: { batchSize: 4, epochs: 1 },
    },
    'non-retryable test',
  );
  const experimentId = `unlabelled-${Date.now()}`;
  const handle = await temporal.client.workflow.start(experiment, {
    taskQueue: CPU_QUEUE,
    workflowId: experimentId,
    args: [{ experimentId, config }],
  });

  // Generous: the machine may be busy; a run that is not stopped by the check goes on to wait for a
  // gpu worker (there is none) and never ends, which fails the test here.
  const outcome = await Promise.race([
    handle.result().then(
      () => 'completed',
      (err: unknown) => err,
    ),
    new Promise((resolve) => setTimeout(() => resolve('still running after 5 minutes'), 300_000).unref()),
  ]);
  assert.ok(outcome instanceof WorkflowFailedError, `the workflow failed, got ${String(outcome)}`);
  const activity = outcome.cause;
  assert.ok(activity instanceof ActivityFailure, `failed by an activity, got ${String(activity)}`);
  assert.equal(activity.activityType, 'inspectDataset');
  assert.equal(activity.retryState, RetryState.NON_RETRYABLE_FAILURE);
  const cause = activity.cause;
  assert.ok(cause instanceof ApplicationFailure);
  assert.equal(cause.type, 'DatasetError');
  assert.equal(cause.nonRetryable, true);
  assert.match(cause.message, /dataset\.source: '.*flat' has no labels/);

  // The history: one activity scheduled (inspectDataset, with the derived non-retryable list), one
  // attempt, nothing after it.
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  assert.deepEqual(
    scheduled.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name),
    ['inspectDataset'],
  );
  assert.deepEqual(
    scheduled[0].activityTaskScheduledEventAttributes?.retryPolicy?.nonRetryableErrorTypes,
    NON_RETRYABLE_ERRORS,
  );
  const started = events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED);
  assert.deepEqual(
    started.map((e) => e.activityTaskStartedEventAttributes?.attempt),
    [1],
  );
  assert.equal(events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED).length, 1);
  // Nothing was sharded.
  const store = join(work, 'store');
  assert.deepEqual(readdirSafe(join(store, 'datasets')), []);
});

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
