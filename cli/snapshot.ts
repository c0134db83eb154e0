/**
 * One look at an experiment run, put together from what Temporal knows: the run's status (describe,
 * answered by the server even with no worker up), its `progress` query (answered by a worker), and, while
 * pretraining, the pretrain loop's `pretrainProgress` query plus the heartbeat details of its pending
 * `pretrainEpoch` activity (epoch, step, loss), which is where live step-level progress lives.
 * A closed run adds its result or its failure.
 */
import {
  WorkflowFailedError,
  type Client,
  type DescribeWorkflowExecutionResponse,
  type WorkflowExecutionStatusName,
} from '@temporalio/client';
import { defaultPayloadConverter, WorkflowNotFoundError, type Payload } from '@temporalio/common';
import type { TemporalTarget } from '../infra/temporal-connection';
import { webUiUrl } from '../infra/temporal-connection';
import { progressQuery } from '../workflows/experiment';
import { pretrainProgressQuery } from '../workflows/pretrain-loop';
import { lossTrend, meanEpochSeconds, viewsPerSecond } from '../workflows/run-details';
import { SA_STAGE } from '../workflows/search-attributes';
import type {
  ExperimentProgress,
  ExperimentResults,
  PretrainHeartbeat,
  PretrainLoopProgress,
} from '../contracts';
import { CliError } from './output';

/** The workflow type every experiment run has (workflows/experiment.ts). */
export const EXPERIMENT_WORKFLOW_TYPE = 'experiment';

/** How long a query may wait for a worker before the view says none is answering. */
const QUERY_TIMEOUT_MS = 3_000;

/** A pending activity of the run or of its pretrain loop. */
export interface ActivityState {
  activity: string;
  attempt: number;
  /** The message of the last failed attempt, when this one is a retry. */
  lastFailure?: string;
  /** Decoded heartbeat details of the current attempt. */
  details?: unknown;
  /** Scheduled but not picked up by a worker yet (none polls its task queue, or all are busy). */
  queued?: boolean;
}

/** temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED */
const PENDING_ACTIVITY_STATE_SCHEDULED = 1;

/** Where pretraining is, at step resolution when the running epoch has heartbeated. */
export interface PretrainState {
  /** 0-based index of the epoch being trained (= epochs completed so far). */
  epoch: number;
  epochs: number;
  /** Steps done in the current epoch, and their total (from the heartbeat). */
  step?: number;
  stepsPerEpoch?: number;
  /** The latest heartbeated loss. */
  loss?: number;
  lastEpochLoss?: number;
  knnTop1?: number;
  checkpoint?: string;
  /** Overall pretraining progress in [0, 1]. */
  fraction: number;
  /** Sparkline of the last epochs' mean loss (workflows/run-details.ts, as in the web UI's details). */
  lossTrend?: string;
  /** Augmented views per second of the last finished epoch. */
  viewsPerSec?: number;
  /** Seconds left, at the mean pace of the finished epochs. */
  etaSeconds?: number;
}

export interface RunSnapshot {
  experimentId: string;
  runId: string;
  status: WorkflowExecutionStatusName;
  closed: boolean;
  startTime: string;
  closeTime?: string;
  /** Seconds from start to close (or to now while running). */
  elapsedSeconds: number;
  /** The current stage: from the progress query, else the SimclrStage search attribute. */
  stage?: string;
  progress?: ExperimentProgress;
  pretrain?: PretrainState;
  activities: ActivityState[];
  results?: ExperimentResults;
  failure?: string;
  webUiUrl?: string;
  /**
   * True when the run is open and no worker polls its task queue. A worker that polls but answers the
   * progress query late (a CPU-bound training step holds its event loop) is busy, not missing: the
   * view then shows the stage from the search attribute and the activities' heartbeats instead.
   */
  noWorker: boolean;
}

type PendingActivity = NonNullable<DescribeWorkflowExecutionResponse['pendingActivities']>[number];

function decodeDetails(p: PendingActivity): unknown {
  const payload = p.heartbeatDetails?.payloads?.[0];
  if (!payload) return undefined;
  try {
    return defaultPayloadConverter.fromPayload(payload as Payload);
  } catch {
    return undefined;
  }
}

/** The pending activities of a described workflow, with their decoded heartbeats. */
export function activityStates(pending: PendingActivity[] | null | undefined): ActivityState[] {
  return (pending ?? []).map((p) => ({
    activity: p.activityType?.name ?? '?',
    attempt: p.attempt ?? 1,
    ...(p.attempt && p.attempt > 1 && p.lastFailure?.message ? { lastFailure: p.lastFailure.message } : {}),
    details: decodeDetails(p),
    ...(Number(p.state) === PENDING_ACTIVITY_STATE_SCHEDULED ? { queued: true } : {}),
  }));
}

function isHeartbeat(d: unknown): d is PretrainHeartbeat {
  const h = d as PretrainHeartbeat | undefined;
  return (
    typeof h?.epoch === 'number' &&
    typeof h.step === 'number' &&
    typeof h.stepsPerEpoch === 'number' &&
    h.stepsPerEpoch > 0
  );
}

/** Combines the loop's state and the running epoch's heartbeat into one pretraining position. */
export function pretrainState(
  loop: PretrainLoopProgress | undefined,
  epochs: number,
  heartbeat: unknown,
): PretrainState | undefined {
  const last = loop?.history[loop.history.length - 1];
  const knn = loop?.history.filter((h) => h.knnTop1 !== undefined).pop()?.knnTop1;
  const history = loop?.history ?? [];
  const views = last ? viewsPerSecond(last, 0, 0) : 0;
  const base = {
    epochs: loop?.epochs ?? epochs,
    lastEpochLoss: last?.meanLoss,
    knnTop1: knn,
    checkpoint: loop?.checkpoint,
    ...(lossTrend(history) ? { lossTrend: lossTrend(history) } : {}),
    ...(views > 0 ? { viewsPerSec: views } : {}),
  };
  const perEpoch = meanEpochSeconds(history);
  const eta = (done: number) =>
    perEpoch === undefined ? {} : { etaSeconds: Math.max(0, base.epochs - done) * perEpoch };
  if (isHeartbeat(heartbeat)) {
    const S = heartbeat.stepsPerEpoch;
    const step = Math.min(S, Math.max(0, heartbeat.step - heartbeat.epoch * S));
    return {
      ...base,
      epoch: heartbeat.epoch,
      step,
      stepsPerEpoch: S,
      loss: heartbeat.loss,
      checkpoint: heartbeat.checkpoint ?? base.checkpoint,
      fraction: base.epochs > 0 ? (heartbeat.epoch + step / S) / base.epochs : 0,
      ...eta(heartbeat.epoch + step / S),
    };
  }
  if (!loop) return undefined;
  return {
    ...base,
    epoch: loop.epoch,
    fraction: base.epochs > 0 ? loop.epoch / base.epochs : 0,
    ...eta(loop.epoch),
  };
}

/** The message a person needs from a closed run's failure: the innermost cause, with the activity named. */
export function failureMessage(err: unknown): string {
  let e: unknown = err instanceof WorkflowFailedError && err.cause ? err.cause : err;
  let activity: string | undefined;
  for (;;) {
    const cur = e as { cause?: unknown; activityType?: string; name?: string };
    if (typeof cur?.activityType === 'string') activity = cur.activityType;
    if (!cur?.cause) break;
    e = cur.cause;
  }
  const inner = e as { message?: string; type?: string; name?: string };
  const type =
    inner.type ??
    (inner.name && inner.name !== 'Error' && !inner.name.endsWith('Failure') ? inner.name : undefined);
  const msg = inner.message || String(e);
  return `${activity ? `${activity}: ` : ''}${type ? `${type}: ` : ''}${msg}`;
}

async function withTimeout<T>(client: Client, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, fn);
  } catch {
    return undefined;
  }
}

/**
 * Whether any worker polled the workflow task queue lately (the server keeps pollers for a few
 * minutes): without one a query can only time out, so the view says so at once instead.
 */
async function hasPollers(client: Client, taskQueue: string): Promise<boolean> {
  try {
    const res = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue },
    });
    return (res.pollers?.length ?? 0) > 0;
  } catch {
    return true; // unknown: let the query's deadline decide
  }
}

/** Describes the latest run of experiment `id`; a clear error when there is none. */
export async function describeExperiment(client: Client, id: string) {
  try {
    const d = await client.workflow.getHandle(id).describe();
    if (d.type !== EXPERIMENT_WORKFLOW_TYPE)
      throw new CliError(`'${id}' is a ${d.type} workflow, not an experiment`);
    return d;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new CliError(`no experiment with id '${id}' in namespace '${client.options.namespace}'`);
    throw err;
  }
}

export async function takeSnapshot(client: Client, target: TemporalTarget, id: string): Promise<RunSnapshot> {
  const d = await describeExperiment(client, id);
  const handle = client.workflow.getHandle(id, d.runId);
  const closed = d.status.name !== 'RUNNING';
  const end = d.closeTime ?? new Date();
  const snap: RunSnapshot = {
    experimentId: id,
    runId: d.runId,
    status: d.status.name,
    closed,
    startTime: d.startTime.toISOString(),
    closeTime: d.closeTime?.toISOString(),
    elapsedSeconds: (end.getTime() - d.startTime.getTime()) / 1000,
    stage: d.typedSearchAttributes.get(SA_STAGE),
    activities: activityStates(d.raw.pendingActivities),
    webUiUrl: webUiUrl(target, id, d.runId),
    noWorker: false,
  };
  const worker = await hasPollers(client, d.taskQueue);
  // A closed run answers queries too (a worker replays it): that adds the stage timings to its result.
  const progress = worker ? await withTimeout(client, () => handle.query(progressQuery)) : undefined;
  if (progress) {
    snap.progress = progress;
    snap.stage = progress.stage;
  }
  if (closed) {
    try {
      snap.results = await handle.result();
      snap.stage = 'done';
    } catch (err) {
      snap.failure = failureMessage(err);
    }
    return snap;
  }
  if (!progress) {
    snap.noWorker = !worker;
    return snap;
  }
  if (progress.stage === 'pretrain') {
    const childId = progress.pretrainWorkflowId ?? `${id}/pretrain`;
    const child = client.workflow.getHandle(childId);
    const [cd, loop] = await Promise.all([
      child.describe().catch(() => undefined),
      withTimeout(client, () => child.query(pretrainProgressQuery)),
    ]);
    const childActivities = activityStates(cd?.raw.pendingActivities);
    snap.activities.push(...childActivities);
    const epochRun = childActivities.find((a) => a.activity === 'pretrainEpoch');
    snap.pretrain = pretrainState(loop, progress.epochs, epochRun?.details);
  }
  return snap;
}
