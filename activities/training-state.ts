/**
 * The model being pretrained, as the activities see it: built fresh from the experiment's seed, or
 * restored from a checkpoint under experiments/<id>/checkpoints/ (simclr/checkpoint.ts).
 */
import type { ResolvedExperiment } from '../config/resolve';
import { checkpointsPrefix } from '../storage/layout';
import { loadLatestCheckpoint, restorePretrainer, saveCheckpoint as saveToStore } from '../simclr/checkpoint';
import type { ImageShape } from '../simclr/images';
import { createPretrainer, type Pretrainer, type PretrainerOptions } from '../simclr/train';
import type { BlobStore } from '../storage/blob-store';
import { applyRetention, resumableCheckpoint, retentionPolicy } from '../simclr/checkpoint-retention';
import { log } from './context';

export interface TrainingState {
  pretrainer: Pretrainer;
}

export { checkpointsPrefix };

function options(
  resolved: ResolvedExperiment,
  imageShape: ImageShape,
  stepsPerEpoch: number,
): PretrainerOptions {
  return {
    model: resolved.model,
    pretrain: resolved.pretrain,
    imageShape,
    stepsPerEpoch,
    seed: resolved.seed,
  };
}

export function newPretrainer(
  resolved: ResolvedExperiment,
  shape: ImageShape,
  stepsPerEpoch: number,
): TrainingState {
  return { pretrainer: createPretrainer(options(resolved, shape, stepsPerEpoch)) };
}

export async function loadPretrainer(
  store: BlobStore,
  key: string,
  resolved: ResolvedExperiment,
  shape: ImageShape,
  stepsPerEpoch: number,
): Promise<TrainingState> {
  const { pretrainer } = await restorePretrainer(store, key, options(resolved, shape, stepsPerEpoch));
  return { pretrainer };
}

/**
 * Saves the model, optimiser slots and step, then applies the experiment's checkpoint retention
 * (pretrain.checkpointRetention); returns the checkpoint key.
 */
export async function saveCheckpoint(
  store: BlobStore,
  experimentId: string,
  state: TrainingState,
  metrics?: Record<string, number>,
): Promise<string> {
  const key = await saveToStore(store, checkpointsPrefix(experimentId), state.pretrainer, { metrics });
  await pruneAfterCommit(store, experimentId, state);
  return key;
}

/**
 * Deletes the checkpoints the retention policy does not keep (simclr/checkpoint-retention.ts says why
 * that is safe at any crash point). Best effort: a failed prune costs disk, not the epoch; the next
 * commit or `simclr gc` catches up.
 */
async function pruneAfterCommit(store: BlobStore, experimentId: string, state: TrainingState): Promise<void> {
  const { pretrain, stepsPerEpoch } = state.pretrainer.options;
  try {
    const removed = await applyRetention(
      store,
      checkpointsPrefix(experimentId),
      retentionPolicy(pretrain, stepsPerEpoch),
      { recordPolicy: true },
    );
    if (removed.length > 0)
      log().info(`checkpoint retention removed ${removed.map((f) => f.key.replace(/.*\//, '')).join(', ')}`);
  } catch (err) {
    log().warn(`checkpoint retention of ${experimentId} failed (kept everything): ${(err as Error).message}`);
  }
}

/**
 * The checkpoint an attempt of `epoch` starts from.
 *
 * - A retried attempt takes the store's newest committed checkpoint of the epoch when it is newer than
 *   the one its last heartbeat named: the server keeps only the last heartbeat that reached it, and
 *   workers throttle heartbeats (2 s on the gpu queue), so a worker lost just after a checkpoint leaves a
 *   heartbeat naming an older one; resuming there would redo more than one checkpoint interval (the fault
 *   suite measured 8 steps redone at an interval of 4). The newest committed checkpoint (committed by its
 *   manifest, LATEST written last: simclr/checkpoint.ts) knows better.
 * - Otherwise `wanted` (the heartbeat's, or the previous epoch's end), or, when retention has pruned it
 *   since, the newest of the same epoch after it (simclr/checkpoint-retention.ts).
 */
export async function resumeFrom(
  store: BlobStore,
  experimentId: string,
  at: { wanted?: string; retried: boolean; epoch: number; stepsPerEpoch: number },
): Promise<string | undefined> {
  const { wanted, epoch, stepsPerEpoch } = at;
  const first = epoch * stepsPerEpoch;
  if (at.retried) {
    const latest = await latestCheckpoint(store, experimentId);
    const wantedStep = wanted ? Number(/step-(\d+)$/.exec(wanted)?.[1] ?? -1) : first;
    if (latest && latest.step > first && latest.step <= first + stepsPerEpoch && latest.step > wantedStep)
      return latest.key;
  }
  if (!wanted) return undefined;
  const key = await resumableCheckpoint(store, checkpointsPrefix(experimentId), wanted, epoch, stepsPerEpoch);
  if (key !== wanted) log().info(`checkpoint ${wanted} was pruned; resuming from ${key} of the same epoch`);
  return key;
}

export async function latestCheckpoint(
  store: BlobStore,
  experimentId: string,
): Promise<{ key: string; step: number } | undefined> {
  const latest = await loadLatestCheckpoint(store, checkpointsPrefix(experimentId));
  return latest && { key: latest.key, step: latest.manifest.globalStep };
}
