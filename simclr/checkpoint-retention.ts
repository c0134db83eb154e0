/**
 * Which pretraining checkpoints the store keeps (config `pretrain.checkpointRetention`, defaults and why
 * in config/defaults.ts): the newest `keepLast` committed ones, the end of every `keepEveryEpochs`-th
 * epoch, always the final epoch's end, and whatever LATEST names. Everything else under the prefix is
 * deleted by `applyRetention`, which pretraining calls after each checkpoint commit and `simclr gc`
 * calls for closed runs.
 *
 * Why this is safe against crashes at any point (see also simclr/checkpoint.ts):
 * - Only checkpoints older than the newest committed one are ever deleted, and a retry or a resume
 *   needs the newest (`loadLatestCheckpoint`), or, after a crash, the one its heartbeat named, which
 *   may be older because heartbeats are throttled: `resumableCheckpoint` then takes the newest one of
 *   the same epoch at or after it, which continues the same deterministic trajectory.
 * - A checkpoint is uncommitted first (MANIFEST.json deleted) and its data deleted after, so a crash
 *   midway leaves an uncommitted folder no reader trusts, never a manifest without its data.
 * - A folder without a manifest may be a checkpoint being written by another attempt (an abandoned
 *   attempt can still run): it is deleted only once none of its objects changed for `minAgeMs`.
 * - Pruning twice deletes nothing the first one kept: it is idempotent. A crash in the middle of a
 *   prune leaves folders the next prune (after the next commit) or `simclr gc` finishes.
 * - A crash between a checkpoint's manifest and LATEST leaves LATEST naming the previous checkpoint,
 *   which stays pinned until LATEST moves on; readers take the newest committed one anyway.
 * - An abandoned attempt still running next to its retry writes the same checkpoints (training is
 *   deterministic) and may prune the retry's older ones; the retry's restart finds a newer one.
 *
 * @example
 *   const policy = retentionPolicy(config.pretrain, stepsPerEpoch);
 *   const removed = await applyRetention(store, 'experiments/e1/checkpoints', policy);
 */
import { z } from 'zod';
import { STORAGE_DEFAULTS } from '../config/defaults';
import type { PretrainConfig } from '../config/schema';
import { BlobNotFoundError, type BlobStat, type BlobStore } from '../storage/blob-store';
import { joinKey } from '../storage/keys';
import { CHECKPOINT_LATEST_NAME as LATEST_NAME, checkpointStepKey as checkpointKey } from '../storage/layout';
import { MANIFEST_NAME } from '../storage/manifest';

/** The name of the policy file next to the checkpoints, so `simclr gc` applies the run's own policy. */
export const RETENTION_NAME = 'RETENTION.json';

export const retentionPolicySchema = z.object({
  keepLast: z.number().int().positive(),
  keepEveryEpochs: z.number().int().min(0),
  /** Epochs of the whole pretraining: the end of the last one is always kept. */
  epochs: z.number().int().positive(),
  stepsPerEpoch: z.number().int().positive(),
});
export type RetentionPolicy = z.infer<typeof retentionPolicySchema>;

/** The policy of an experiment; configs recorded before retention existed get the defaults. */
export function retentionPolicy(
  pretrain: Pick<PretrainConfig, 'epochs'> & { checkpointRetention?: PretrainConfig['checkpointRetention'] },
  stepsPerEpoch: number,
): RetentionPolicy {
  const keep = pretrain.checkpointRetention ?? STORAGE_DEFAULTS.checkpointRetention;
  return retentionPolicySchema.parse({
    keepLast: keep.keepLast,
    keepEveryEpochs: keep.keepEveryEpochs,
    epochs: pretrain.epochs,
    stepsPerEpoch,
  });
}

/**
 * The steps to keep among the committed `steps`: the newest keepLast, the epoch ends asked for, the
 * final epoch's end, and `pinned` (LATEST's step). Pure, for tests and dry runs.
 */
export function stepsToKeep(
  steps: readonly number[],
  policy: RetentionPolicy,
  pinned: readonly number[] = [],
) {
  const sorted = [...steps].sort((a, b) => a - b);
  const keep = new Set(sorted.slice(Math.max(0, sorted.length - policy.keepLast)));
  const S = policy.stepsPerEpoch;
  for (const step of sorted) {
    if (step === 0 || step % S !== 0) continue;
    const epoch = step / S; // 1-based: the step ends epoch `epoch`
    if (epoch === policy.epochs || (policy.keepEveryEpochs > 0 && epoch % policy.keepEveryEpochs === 0))
      keep.add(step);
  }
  for (const step of pinned) if (sorted.includes(step)) keep.add(step);
  return keep;
}

/** One checkpoint folder as the listing shows it. */
export interface CheckpointFolder {
  key: string;
  step: number;
  committed: boolean;
  bytes: number;
  objects: number;
  /** The newest modification time of its objects. */
  modified: Date;
}

/** The checkpoint folders under `prefix`, by step, from one listing. */
export function checkpointFolders(prefix: string, listing: readonly BlobStat[]): CheckpointFolder[] {
  const base = `${joinKey(prefix)}/`;
  const folders = new Map<number, CheckpointFolder>();
  for (const o of listing) {
    if (!o.key.startsWith(base)) continue;
    const m = /^step-(\d+)\/(.+)$/.exec(o.key.slice(base.length));
    if (!m) continue;
    const step = Number(m[1]);
    const key = checkpointKey(prefix, step);
    if (o.key.slice(0, key.length + 1) !== `${key}/`) continue; // not the canonical zero-padded name
    const f = folders.get(step) ?? {
      key,
      step,
      committed: false,
      bytes: 0,
      objects: 0,
      modified: new Date(0),
    };
    f.bytes += o.size;
    f.objects++;
    if (o.modified > f.modified) f.modified = o.modified;
    if (m[2] === MANIFEST_NAME) f.committed = true;
    folders.set(step, f);
  }
  return [...folders.values()].sort((a, b) => a.step - b.step);
}

export interface PruneOptions {
  /** List only: delete nothing (`simclr gc --dry-run`). */
  dryRun?: boolean;
  /** Uncommitted folders younger than this (by their newest object) may be in the making: kept. */
  minAgeMs?: number;
  now?: Date;
  /** Write the policy next to the checkpoints (RETENTION.json) when it is not there yet. */
  recordPolicy?: boolean;
}

/** Uncommitted folders are presumed in the making for an hour (a checkpoint write takes seconds). */
export const UNCOMMITTED_MIN_AGE_MS = 60 * 60 * 1000;

/** The newest committed step LATEST names, if it names one in `folders`. */
async function latestStep(store: BlobStore, prefix: string, folders: CheckpointFolder[]) {
  try {
    const pointer = (await store.get(joinKey(prefix, LATEST_NAME))).toString('utf8').trim();
    return folders.find((f) => f.key === pointer)?.step;
  } catch (err) {
    if (err instanceof BlobNotFoundError) return undefined;
    throw err;
  }
}

/**
 * Deletes (or, dry, lists) the checkpoint folders under `prefix` that `policy` does not keep: committed
 * ones outside stepsToKeep, and uncommitted ones older than the newest committed checkpoint and
 * untouched for minAgeMs. Returns what it removed (would remove), oldest first.
 */
export async function applyRetention(
  store: BlobStore,
  prefix: string,
  policy: RetentionPolicy,
  opts: PruneOptions = {},
): Promise<CheckpointFolder[]> {
  const listing = await store.list(`${joinKey(prefix)}/`);
  if (opts.recordPolicy && !opts.dryRun && !listing.some((o) => o.key === joinKey(prefix, RETENTION_NAME)))
    await store.put(joinKey(prefix, RETENTION_NAME), JSON.stringify(policy, null, 2) + '\n');
  const folders = checkpointFolders(prefix, listing);
  const committed = folders.filter((f) => f.committed);
  if (committed.length === 0) return [];
  const newest = committed[committed.length - 1].step;
  const pinned = await latestStep(store, prefix, folders);
  const keep = stepsToKeep(
    committed.map((f) => f.step),
    policy,
    pinned === undefined ? [] : [pinned],
  );
  const now = (opts.now ?? new Date()).getTime();
  const minAge = opts.minAgeMs ?? UNCOMMITTED_MIN_AGE_MS;
  const doomed = folders.filter((f) =>
    f.committed ? !keep.has(f.step) : f.step < newest && now - f.modified.getTime() >= minAge,
  );
  if (opts.dryRun) return doomed;
  for (const f of doomed) await removeCheckpointFolder(store, f.key);
  return doomed;
}

/** Uncommits the checkpoint folder `key` (manifest first), then deletes its data. Idempotent. */
export async function removeCheckpointFolder(store: BlobStore, key: string): Promise<void> {
  await store.delete(joinKey(key, MANIFEST_NAME));
  await store.deletePrefix(`${key}/`);
}

/** The policy recorded next to the checkpoints under `prefix`, if any. */
export async function recordedPolicy(store: BlobStore, prefix: string): Promise<RetentionPolicy | undefined> {
  try {
    const text = (await store.get(joinKey(prefix, RETENTION_NAME))).toString('utf8');
    return retentionPolicySchema.parse(JSON.parse(text));
  } catch (err) {
    if (err instanceof BlobNotFoundError) return undefined;
    throw new Error(`${joinKey(prefix, RETENTION_NAME)} in ${store.location}: ${(err as Error).message}`);
  }
}

/**
 * The checkpoint a retried attempt of epoch `epoch` starts from: `wanted` (its heartbeat's) when it is
 * still committed, else the newest committed checkpoint of the same epoch at or after it. Pruning may
 * have deleted `wanted` because the server's heartbeat lags the attempt's newest checkpoint; any later
 * checkpoint of the same run continues the same trajectory. Returns `wanted` when nothing fits (the
 * restore then fails with CheckpointNotFoundError, as before).
 */
export async function resumableCheckpoint(
  store: BlobStore,
  prefix: string,
  wanted: string,
  epoch: number,
  stepsPerEpoch: number,
): Promise<string> {
  if (await store.exists(joinKey(wanted, MANIFEST_NAME))) return wanted;
  const wantedStep = Number(/step-(\d+)$/.exec(wanted)?.[1] ?? Number.NaN);
  const first = epoch * stepsPerEpoch;
  const last = first + stepsPerEpoch;
  const candidates = checkpointFolders(prefix, await store.list(`${joinKey(prefix)}/step-`)).filter(
    (f) => f.committed && f.step >= first && f.step <= last && !(f.step < wantedStep),
  );
  return candidates.length > 0 ? candidates[candidates.length - 1].key : wanted;
}
