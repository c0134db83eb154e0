/**
 * Augmentation precompute [cpu]: both SimCLR views of every image of one (epoch, shard), written ahead
 * of training by the pretrain loop's bounded look-ahead and deleted once the epoch is consumed. Every
 * view is a pure function of (seed, epoch, image index), so a shard can be recomputed anywhere.
 */
import { fingerprint } from '../config/fingerprint';
import { resolveExperiment } from '../config/resolve';
import type { ExperimentConfig } from '../config/schema';
import { augmentBatch, type AugmentParams } from '../simclr/augment';
import { encodeShard } from '../simclr/datasets/shard-format';
import type { BlobStore } from '../storage/blob-store';
import { augmentEpochPrefix, augmentShardKey } from '../storage/layout';
import type {
  DeleteAugmentationsInput,
  PrecomputeInput,
  PrecomputeRangeInput,
  PrecomputeRangeResult,
  PrecomputeResult,
} from '../contracts/augment';
import type { DatasetManifest } from '../contracts/dataset';
import { activityStore, guard, log, progressHeartbeat } from './context';
import { readDatasetShard } from './dataset';
import { datasetManifest } from './dataset-manifests';
import { intactShard, readShard } from './shard-objects';

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
 * Images augmented between two heartbeats (and event-loop yields) of a view computation: augmentBatch
 * is synchronous, and a shard of thousands of large images is minutes of it. Every view is a pure
 * function of (seed, epoch, image index), so the chunks give the same bytes as one call.
 */
export const AUGMENT_IMAGES_PER_HEARTBEAT = 64;

/** Heartbeats the progress of a loop: (stage) → (done, total). */
type ProgressReporter = (stage: string) => (done: number, total?: number) => void;

/**
 * Writes augment/<dataset>/<aug>/epoch-<e>/shard-<s>.bin: a shard of 2N images, the N first views then
 * the N second views. Skips the work when the object exists and passes its checks (length, CRC, 2N
 * images); a corrupt one is written again. A corrupt dataset shard fails with a CorruptShardError
 * naming it (and un-commits the dataset, so that the next run shards it again).
 */
export async function precomputeAugmentations(input: PrecomputeInput): Promise<PrecomputeResult> {
  return guard(() => writeViews(input, progressHeartbeat({ epoch: input.epoch, shard: input.shard })));
}

/**
 * The views of one epoch for shards [from, to), each as precomputeAugmentations writes it (intact views
 * are kept), heartbeating the shard it is at: the pretrain loop's bounded fan-out gives each activity a
 * range when an epoch has more shards than HISTORY_BOUNDS.maxActivitiesPerFanOut (config/history-bounds.ts).
 */
export async function precomputeAugmentationRange(
  input: PrecomputeRangeInput,
): Promise<PrecomputeRangeResult> {
  return guard(async () => {
    const t0 = Date.now();
    const { epoch, shards } = input;
    const dataset = await datasetManifest(await activityStore(), input.dataset);
    let images = 0;
    let reused = 0;
    // A heartbeat per shard too: checking intact views (kept, nothing computed) reads all of them.
    const perShard = progressHeartbeat({ epoch, shards })(`augment epoch ${epoch} shards`);
    perShard(0, shards.to - shards.from);
    for (let shard = shards.from; shard < shards.to; shard++) {
      const r = await writeViews({ ...input, dataset, shard }, progressHeartbeat({ epoch, shard, shards }));
      images += r.count;
      if (r.skipped) reused++;
      perShard(shard + 1 - shards.from, shards.to - shards.from);
    }
    return { epoch, shards, images, reused, ms: Date.now() - t0 };
  });
}

/** precomputeAugmentations' body, with the caller's heartbeats (pretraining keeps its resume point in them). */
async function writeViews(input: PrecomputeInput, progress: ProgressReporter): Promise<PrecomputeResult> {
  const t0 = Date.now();
  const { config, dataset, epoch, shard } = input;
  const store = await activityStore();
  const key = augmentShardKey(dataset.datasetId, input.augmentationId, epoch, shard);
  const entry = dataset.splits.train.shards[shard];
  const earlier = await intactShard(store, key, 2 * entry.count, (err) =>
    log().warn(`${err.message}: computing the views again`),
  );
  if (earlier) return { key, count: entry.count, skipped: true, ms: Date.now() - t0 };
  const source = await readDatasetShard(store, dataset.datasetId, entry);
  const params = augmentParams(config, dataset);
  const firstIndex = shardOffsets(dataset)[shard];
  const n = source.count;
  const bytes = source.shape.height * source.shape.width * source.shape.channels;
  // The N first views, then the N second views.
  const both = new Uint8Array(2 * n * bytes);
  const report = progress(`augment epoch ${epoch} shard ${shard}`);
  report(0, n);
  for (let at = 0; at < n; at += AUGMENT_IMAGES_PER_HEARTBEAT) {
    const m = Math.min(AUGMENT_IMAGES_PER_HEARTBEAT, n - at);
    const { view1, view2 } = augmentBatch(
      source.pixels.subarray(at * bytes, (at + m) * bytes),
      source.shape,
      params,
      config.seed,
      epoch,
      firstIndex + at,
    );
    both.set(view1, at * bytes);
    both.set(view2, (n + at) * bytes);
    report(at + m, n);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await store.put(key, encodeShard({ count: 2 * n, shape: source.shape, pixels: both }));
  return { key, count: n, skipped: false, ms: Date.now() - t0 };
}

/**
 * The decoded views of one (epoch, shard) for training: read from the store and verified, computed here
 * (as precomputeAugmentations does) when the look-ahead has not written them (yet) or when the stored
 * object is corrupt (it is rewritten, never trained on). `progress` heartbeats that computation; by
 * default it does not heartbeat (the caller's heartbeats carry what its retry needs).
 */
export async function loadViews(
  store: BlobStore,
  input: PrecomputeInput,
  progress: ProgressReporter = () => () => undefined,
): Promise<Uint8Array> {
  const { dataset, epoch, shard } = input;
  const key = augmentShardKey(dataset.datasetId, input.augmentationId, epoch, shard);
  const count = 2 * dataset.splits.train.shards[shard].count;
  const stored = await intactShard(store, key, count, (err) =>
    log().warn(`${err.message}: computing the views of epoch ${epoch} shard ${shard} here`),
  );
  if (stored) return stored.pixels;
  if (!(await store.exists(key)))
    log().warn(`views of epoch ${epoch} shard ${shard} are not precomputed; computing them here`);
  await writeViews(input, progress);
  return (await readShard(store, key, count)).pixels;
}

/** Deletes the views of a consumed epoch, so storage stays O(look-ahead × dataset). */
export async function deleteAugmentations(input: DeleteAugmentationsInput): Promise<number> {
  const store = await activityStore();
  return store.deletePrefix(augmentEpochPrefix(input.dataset.datasetId, input.augmentationId, input.epoch));
}
