/**
 * Cancel and resume, twice, through the `simclr` command against a real Temporal dev server, with the
 * cpu and gpu workers in this process and the filesystem store:
 * 1. cancel during pretraining (epoch 1), resume;
 * 2. cancel during fine-tuning: the run closes only once the fine-tuning activity has stopped (it no
 *    longer holds the GPU slot), a bounded number of steps after the cancel reached it; resume;
 * 3. the run completes, and its report covers the whole pretraining (every epoch and every step's loss,
 *    once), not only the epochs after the last resume.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { parseMetricsJsonl } from '../../report/metrics';
import { parseRunReport } from '../../report/report';
import type { WorkersHandle } from '../../workers/run-workers';
import type { PretrainHeartbeat } from '../../contracts';
import { parseJsonOutput, ROOT, runSimclr } from '../helpers/cli';
import { startTestTemporal, startTestWorkers } from '../helpers/temporal';

let temporal: TestWorkflowEnvironment;
let home: string;
let workers: WorkersHandle;
const savedEnv = { ...process.env };
const id = 'cancel-resume';
const file = join(ROOT, 'test', 'fixtures', 'e2e-cancel.yaml');

before(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  temporal = await startTestTemporal();
  home = mkdtempSync(join(tmpdir(), 'simclr-cancel-'));
  process.env.SIMCLR_STORE = `file://${join(home, 'store')}`;
  workers = await startTestWorkers(temporal);
});

after(async () => {
  await workers?.shutdown();
  await temporal?.teardown();
  rmSync(home, { recursive: true, force: true });
  process.env = savedEnv;
});

const simclr = (args: string[], timeoutMs?: number) =>
  runSimclr(args, {
    home,
    env: { SIMCLR_STORE: process.env.SIMCLR_STORE },
    address: temporal.address,
    timeoutMs,
  });

/** The decoded heartbeat of `handle`'s pending activity `activity`, once `ready` holds for it. */
async function heartbeatWhen<T>(
  handle: WorkflowHandle,
  activity: string,
  ready: (d: T) => boolean,
): Promise<T> {
  for (let i = 0; i < 2400; i++) {
    const d = await handle.describe().catch(() => undefined);
    const pending = d?.raw.pendingActivities?.find((a) => a.activityType?.name === activity);
    const payload = pending?.heartbeatDetails?.payloads?.[0];
    const details = payload ? defaultPayloadConverter.fromPayload<T>(payload as Payload) : undefined;
    if (details !== undefined && ready(details)) return details;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no heartbeat of ${activity} that is ready`);
}

async function cancelAndWait(): Promise<WorkflowHandle> {
  const cancelled = await simclr(['cancel', id, '--json']);
  assert.equal(cancelled.code, 0, cancelled.stderr);
  const handle = temporal.client.workflow.getHandle(id);
  for (let i = 0; i < 2400; i++) {
    const d = await handle.describe();
    if (d.status.name !== 'RUNNING') {
      assert.equal(d.status.name, 'CANCELLED');
      return temporal.client.workflow.getHandle(id, d.runId);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${id} did not close after cancel`);
}

interface StepBeat {
  stage: string;
  step: number;
  total: number;
  stopped?: boolean;
}

test('cancel during fine-tuning waits for it to stop; after two resumes the report covers every epoch', async () => {
  const started = await simclr(['run', file, '--detach', '--json', '--id', id]);
  assert.equal(started.code, 0, started.stderr);

  // 1. Cancelled in pretraining epoch 1 (4 steps per epoch), after its periodic checkpoint at step 4.
  const pretrain = temporal.client.workflow.getHandle(`${id}/pretrain`);
  await heartbeatWhen<PretrainHeartbeat>(pretrain, 'pretrainEpoch', (b) => b.step >= 5);
  await cancelAndWait();
  const resumed = await simclr(['resume', id, '--detach', '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);

  // 2. Cancelled in the middle of fine-tuning.
  const run = temporal.client.workflow.getHandle(id, String(parseJsonOutput(resumed).runId));
  const before = await heartbeatWhen<StepBeat>(run, 'fineTune', (b) => b.step >= 16);
  const requestedAt = Date.now();
  const closed = await cancelAndWait();
  const events = (await closed.fetchHistory()).events ?? [];
  const scheduled = events.find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'fineTune',
  );
  const stopped = events.find(
    (e) =>
      e.activityTaskCanceledEventAttributes &&
      String(e.activityTaskCanceledEventAttributes.scheduledEventId) === String(scheduled?.eventId),
  );
  assert.ok(stopped, 'the run waited for the fine-tuning activity to stop before it closed');
  const closedEvent = events[events.length - 1];
  assert.ok(closedEvent.workflowExecutionCanceledEventAttributes, 'the run closed as cancelled, after that');
  const payload = stopped.activityTaskCanceledEventAttributes?.details?.payloads?.[0];
  const at = defaultPayloadConverter.fromPayload<StepBeat>(payload as Payload);
  assert.equal(at.stage, 'finetune');
  assert.equal(at.stopped, true);
  const stoppedAt = Number(stopped.eventTime?.seconds) * 1000;
  console.log(
    `fine-tune: cancel requested at step ${before.step} of ${at.total}, stopped at step ${at.step} ` +
      `(${at.step - before.step} steps, ${((stoppedAt - requestedAt) / 1000).toFixed(1)} s later)`,
  );
  // The cancel reaches the activity with its next heartbeat (sent at most every 2 s): it stops at the
  // next step boundary after that, far before the end of its 480 steps.
  assert.ok(at.step >= before.step && at.step < at.total, `stopped at step ${at.step} of ${at.total}`);
  assert.ok(at.step - before.step <= at.total / 4, `${at.step - before.step} steps after the cancel request`);

  // 3. Resumed to the end: the report counts and charts the whole pretraining.
  const done = await simclr(['resume', id, '--json'], 600_000);
  assert.equal(done.code, 0, done.stderr);
  assert.equal(parseJsonOutput(done).status, 'COMPLETED');
  const store = join(home, 'store', 'experiments', id);
  const report = parseRunReport(JSON.parse(readFileSync(join(store, 'report.json'), 'utf8')));
  assert.equal(report.pretrain?.epochs, 3, 'all three epochs, though the last run trained none of them');
  assert.equal(report.pretrain?.steps, 12);
  assert.ok(Number.isFinite(report.pretrain?.finalLoss), `final loss ${report.pretrain?.finalLoss}`);
  const metrics = parseMetricsJsonl(readFileSync(join(store, 'metrics.jsonl'), 'utf8'), 'metrics.jsonl');
  const lossSteps = metrics
    .filter((r) => r.stage === 'pretrain' && r.name === 'loss')
    .map((r) => r.step!)
    .sort((a, b) => a - b);
  assert.deepEqual(
    lossSteps,
    Array.from({ length: 12 }, (_, i) => i + 1),
    'every step of the loss curve, once, across the cancelled and resumed runs',
  );
});
