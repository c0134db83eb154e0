/**
 * What the fault tests read about a run: its status (through server restarts), the checkpoints in the
 * store and in MinIO's data folder, the final weights, the pretrain heartbeats and attempts, and the
 * augmented views as they come and go.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { ExperimentConfig } from '../../config/schema';
import { checkpointKey, LATEST_NAME } from '../../simclr/checkpoint';
import { BlobNotFoundError, type BlobStore } from '../../storage/blob-store';
import { CPU_QUEUE, type PretrainHeartbeat } from '../../contracts';
import { sleep, until, type Lab } from './lab';

export const checkpointsOf = (id: string) => `experiments/${id}/checkpoints`;

/** Starts the experiment workflow the way `simclr run --detach` does. */
export async function startRun(lab: Lab, id: string, config: ExperimentConfig): Promise<void> {
  await lab.client.workflow.start('experiment', {
    workflowId: id,
    taskQueue: CPU_QUEUE,
    args: [{ experimentId: id, config }],
  });
}

/** The workflow's status once it is no longer RUNNING; describe errors (a restarting server) are retried. */
export async function waitClosed(lab: Lab, id: string, timeoutMs = 420_000): Promise<string> {
  return until(
    `${id} to close`,
    async () => {
      const d = await lab.client.workflow
        .getHandle(id)
        .describe()
        .catch(() => undefined);
      return d && d.status.name !== 'RUNNING' ? d.status.name : undefined;
    },
    { timeoutMs, everyMs: 250 },
  );
}

/** Where MinIO keeps an object on disk: a folder named like the key (holding xl.meta) once committed. */
export function onDisk(lab: Lab, key: string): string {
  return join(lab.minioData, lab.bucket, ...key.split('/'));
}

/** Whether the checkpoint of `step` has an object in MinIO's data folder (any: it may be uncommitted). */
export function checkpointStarted(lab: Lab, id: string, step: number): boolean {
  return existsSync(onDisk(lab, checkpointKey(checkpointsOf(id), step)));
}

/** Whether the checkpoint of `step` is committed (its MANIFEST.json is on disk). */
export function checkpointCommitted(lab: Lab, id: string, step: number): boolean {
  return existsSync(onDisk(lab, `${checkpointKey(checkpointsOf(id), step)}/MANIFEST.json`));
}

/** Resolves as soon as `cond` holds, polling every 5 ms: the moment to break something. */
export function whenTrue(what: string, cond: () => boolean): Promise<true> {
  return until(what, () => (cond() ? true : undefined), { everyMs: 5 });
}

/** Steps of the checkpoints under the experiment, split into committed (with a manifest) and not. */
export async function checkpointFolders(
  store: BlobStore,
  id: string,
): Promise<{ committed: number[]; uncommitted: number[]; files: Map<number, string[]> }> {
  const prefix = `${checkpointsOf(id)}/`;
  const files = new Map<number, string[]>();
  for (const { key } of await store.list(prefix)) {
    const m = /^step-(\d+)\/(.+)$/.exec(key.slice(prefix.length));
    if (!m) continue;
    const step = Number(m[1]);
    files.set(step, [...(files.get(step) ?? []), m[2]]);
  }
  const steps = [...files.keys()].sort((a, b) => a - b);
  return {
    committed: steps.filter((s) => files.get(s)!.includes('MANIFEST.json')),
    uncommitted: steps.filter((s) => !files.get(s)!.includes('MANIFEST.json')),
    files,
  };
}

/** The checkpoint LATEST names, or undefined when there is no LATEST yet. */
export async function latestPointer(store: BlobStore, id: string): Promise<string | undefined> {
  try {
    return (await store.get(`${checkpointsOf(id)}/${LATEST_NAME}`)).toString('utf8').trim();
  } catch (err) {
    if (err instanceof BlobNotFoundError) return undefined;
    throw err;
  }
}

export interface FinalWeights {
  checkpoint: string;
  /** sha256 of encoder/weights.bin and head/weights.bin. */
  encoder: string;
  head: string;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The weights of the checkpoint LATEST names after the run. */
export async function finalWeights(store: BlobStore, id: string): Promise<FinalWeights> {
  const checkpoint = await latestPointer(store, id);
  if (!checkpoint) throw new Error(`${id} has no LATEST checkpoint`);
  return {
    checkpoint: checkpoint.replace(`${checkpointsOf(id)}/`, ''),
    encoder: sha256(await store.get(`${checkpoint}/encoder/weights.bin`)),
    head: sha256(await store.get(`${checkpoint}/head/weights.bin`)),
  };
}

/** The last heartbeat the server holds for the running pretrainEpoch, if any. */
export async function lastPretrainHeartbeat(lab: Lab, id: string): Promise<PretrainHeartbeat | undefined> {
  const d = await lab.client.workflow.getHandle(`${id}/pretrain`).describe();
  const payload = d.raw.pendingActivities?.find((a) => a.activityType?.name === 'pretrainEpoch')
    ?.heartbeatDetails?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload<PretrainHeartbeat>(payload) : undefined;
}

/**
 * Whether the server holds a cancellation request for the running pretrainEpoch, or has none running
 * any more (a paused worker's attempt timed out and the cancel reached it while it waited for a retry).
 */
export async function pretrainCancelRequested(lab: Lab, id: string): Promise<boolean> {
  const d = await lab.client.workflow.getHandle(`${id}/pretrain`).describe();
  const epoch = d.raw.pendingActivities?.find((a) => a.activityType?.name === 'pretrainEpoch');
  return (
    epoch === undefined ||
    epoch.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
  );
}

/**
 * How many precomputes of the run's pretrain loop the server holds as started on a worker (0 also while
 * that workflow does not exist yet).
 */
export async function startedPrecomputes(lab: Lab, id: string): Promise<number> {
  try {
    const d = await lab.client.workflow.getHandle(`${id}/pretrain`).describe();
    return (d.raw.pendingActivities ?? []).filter(
      (a) =>
        a.activityType?.name === 'precomputeAugmentationRange' &&
        a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
    ).length;
  } catch {
    return 0; // the pretrain loop has not started yet
  }
}

/** The activities of a workflow's latest run that completed, with the attempt that completed them. */
export async function completedAttempts(
  client: Client,
  workflowId: string,
): Promise<{ type: string; attempt: number }[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const types = new Map<string, string>();
  const out: { type: string; attempt: number }[] = [];
  for (const e of history.events ?? []) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) types.set(String(e.eventId), scheduled.activityType?.name ?? '?');
    const started = e.activityTaskStartedEventAttributes;
    if (started)
      out.push({ type: types.get(String(started.scheduledEventId)) ?? '?', attempt: started.attempt ?? 1 });
  }
  return out;
}

/**
 * Per pretrainEpoch attempt of `epoch` that wrote its step records (a finished epoch, or one stopped by
 * a cancel or a drain): the step it started from → the last step it trained.
 */
export async function stepsTrained(
  store: BlobStore,
  id: string,
  epoch: number,
): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const { key } of await store.list(`experiments/${id}/metrics/`)) {
    const m = /\/pretrain-from-(\d+)-(\d+)\.jsonl$/.exec(key);
    if (!m || Number(m[2]) !== epoch) continue;
    const steps = (await store.get(key))
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => (JSON.parse(l) as { step?: number }).step ?? 0);
    out.set(Number(m[1]), Math.max(...steps));
  }
  return out;
}

/** The steps each pretrainEpoch attempt that finished its epoch started from (metrics chunk `pretrain-from-<step>-<epoch>`). */
export async function epochStarts(store: BlobStore, id: string): Promise<Map<number, number>> {
  const starts = new Map<number, number>();
  for (const { key } of await store.list(`experiments/${id}/metrics/`)) {
    const m = /\/pretrain-from-(\d+)-(\d+)\.jsonl$/.exec(key);
    if (m) starts.set(Number(m[2]), Number(m[1]));
  }
  return starts;
}

/**
 * Records the sha256 of every augmented view object (augment/...) while it exists: views live from
 * their precompute until their epoch is consumed, so polling every 100 ms sees each of them.
 */
export function watchViews(store: BlobStore): { digests: Map<string, string>; stop(): Promise<void> } {
  const digests = new Map<string, string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        for (const { key } of await store.list('augment/')) {
          if (digests.has(key)) continue;
          try {
            digests.set(key, sha256(await store.get(key)));
          } catch {
            // deleted between the listing and the read: it was seen in an earlier listing, or it is gone
          }
        }
      } catch {
        // the store is briefly unreachable (a fault under test)
      }
      await sleep(100);
    }
  })();
  return {
    digests,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** The view keys without the dataset and augmentation ids: `epoch-00001/shard-00003.bin`. */
export function viewNames(digests: Map<string, string>): Map<string, string> {
  return new Map([...digests].map(([k, v]) => [k.split('/').slice(-2).join('/'), v]));
}
