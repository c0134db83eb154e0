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

/** Saves the model, optimiser slots and step; returns the checkpoint key. */
export async function saveCheckpoint(
  store: BlobStore,
  experimentId: string,
  state: TrainingState,
  metrics?: Record<string, number>,
): Promise<string> {
  return saveToStore(store, checkpointsPrefix(experimentId), state.pretrainer, { metrics });
}

export async function latestCheckpoint(
  store: BlobStore,
  experimentId: string,
): Promise<{ key: string; step: number } | undefined> {
  const latest = await loadLatestCheckpoint(store, checkpointsPrefix(experimentId));
  return latest && { key: latest.key, step: latest.manifest.globalStep };
}
