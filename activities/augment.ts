/**
 * Augmentation precompute [cpu]: both SimCLR views of every image of one (epoch, shard), written ahead
 * of training by the pretrain loop's bounded look-ahead and deleted once the epoch is consumed. Every
 * view is a pure function of (seed, epoch, image index), so a shard can be recomputed anywhere.
 */
import { fingerprint } from '../config/fingerprint';
import { resolveExperiment } from '../config/resolve';
import type { ExperimentConfig } from '../config/schema';
import { augmentBatch, type AugmentParams } from '../simclr/augment';
import { decodeShard, encodeShard } from '../simclr/datasets/shard-format';
import { augmentEpochPrefix, augmentShardKey } from '../storage/layout';
import type { DeleteAugmentationsInput, PrecomputeInput, PrecomputeResult } from '../contracts/augment';
import type { DatasetManifest } from '../contracts/dataset';
import { activityStore, guard, heartbeat } from './context';

/** The resolved augmentation parameters of an experiment on its dataset. */
export function augmentParams(config: ExperimentConfig, dataset: DatasetManifest): AugmentParams {
  const resolved = resolveExperiment(config, { imageSize: dataset.imageSize, channels: dataset.channels });
  const { lookaheadEpochs: _unused, ...params } = resolved.augmentation;
  return params;
}

/** Identifies a stream of views: the dataset, the parameters and the seed. */
export function augmentationId(config: ExperimentConfig, dataset: DatasetManifest): string {
  return fingerprint({
    datasetId: dataset.datasetId,
    params: augmentParams(config, dataset),
    seed: config.seed,
  });
}

export { augmentEpochPrefix, augmentShardKey };

/** First dataset index of each train shard (view streams are keyed by the image's dataset index). */
export function shardOffsets(dataset: DatasetManifest): number[] {
  const offsets: number[] = [];
  let at = 0;
  for (const s of dataset.splits.train.shards) {
    offsets.push(at);
    at += s.count;
  }
  return offsets;
}

export type { PrecomputeInput } from '../contracts/augment';

/**
 * Writes augment/<dataset>/<aug>/epoch-<e>/shard-<s>.bin: a shard of 2N images, the N first views then
 * the N second views. Skips the work when the object exists (a single object is written atomically).
 */
export async function precomputeAugmentations(input: PrecomputeInput): Promise<PrecomputeResult> {
  return guard(async () => {
    const t0 = Date.now();
    const { config, dataset, epoch, shard } = input;
    const store = await activityStore();
    const key = augmentShardKey(dataset.datasetId, input.augmentationId, epoch, shard);
    const entry = dataset.splits.train.shards[shard];
    if (await store.exists(key)) return { key, count: entry.count, skipped: true, ms: Date.now() - t0 };
    const source = decodeShard(await store.get(entry.key), entry.key);
    const params = augmentParams(config, dataset);
    const firstIndex = shardOffsets(dataset)[shard];
    heartbeat({ epoch, shard });
    const { view1, view2 } = augmentBatch(
      source.pixels,
      source.shape,
      params,
      config.seed,
      epoch,
      firstIndex,
    );
    const both = new Uint8Array(view1.length * 2);
    both.set(view1, 0);
    both.set(view2, view1.length);
    await store.put(key, encodeShard({ count: source.count * 2, shape: source.shape, pixels: both }));
    return { key, count: source.count, skipped: false, ms: Date.now() - t0 };
  });
}

/** Deletes the views of a consumed epoch, so storage stays O(look-ahead × dataset). */
export async function deleteAugmentations(input: DeleteAugmentationsInput): Promise<number> {
  const store = await activityStore();
  return store.deletePrefix(augmentEpochPrefix(input.dataset.datasetId, input.augmentationId, input.epoch));
}
