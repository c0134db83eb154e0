/**
 * What evaluation reads of a dataset split, shard by shard (activities/dataset.ts splitShards), so
 * that no reader needs one buffer of the whole split's pixels: its features (encoder or raw pixels),
 * its labels, or the images of a subset (the labelled fraction fine-tuning trains on). `onShard`
 * reports each shard read (heartbeats: a split of hundreds of shards is a long read).
 *
 * @example
 *   const train = await splitFeatures(store, manifest, 'train', (pixels, count) => extractFeatures(enc, pixels, count, shape, 512));
 *   const labels = await splitLabels(store, manifest, 'train');
 *   const subset = await gatherImages(store, manifest, 'train', labelFractionSubset(labels, 0.01, seed));
 */
import type { DatasetManifest, Split } from '../contracts/dataset';
import type { FeatureSet } from '../simclr/evaluate/features';
import type { LabelledParts } from '../simclr/evaluate/finetune';
import type { BlobStore } from '../storage/blob-store';
import { splitShards } from './dataset';

/** Called with the units done (shards read, images through the encoder) and the total. */
export type ShardProgress = (done: number, total: number) => void;

/**
 * How `splitFeatures` computes one shard's features (row-major [count, dim]), reporting the images done
 * within the shard through `onImages` (one heartbeat per feature batch).
 */
export type ShardFeatures = (
  pixels: Uint8Array,
  count: number,
  onImages: (done: number) => void,
) => Promise<Float32Array> | Float32Array;

/**
 * The representation of every image of a split, computed shard by shard by `featuresOf`; only the
 * features of the whole split are held, never its pixels. `progress.onShard` is told of each shard
 * read, `progress.onImages` of the split's images done (as featuresOf reports them).
 */
export async function splitFeatures(
  store: BlobStore,
  manifest: DatasetManifest,
  split: Split,
  featuresOf: ShardFeatures,
  progress: { onShard?: ShardProgress; onImages?: ShardProgress } = {},
): Promise<FeatureSet & { count: number }> {
  const count = manifest.splits[split].count;
  const labels = new Int32Array(count);
  let features = new Float32Array(0);
  let dim = 0;
  for await (const shard of splitShards(store, manifest, split)) {
    progress.onShard?.(shard.index + 1, shard.total);
    const f = await featuresOf(shard.pixels, shard.count, (done) =>
      progress.onImages?.(shard.offset + done, count),
    );
    if (shard.index === 0) {
      dim = shard.count ? f.length / shard.count : 0;
      features = new Float32Array(count * dim);
    }
    features.set(f, shard.offset * dim);
    labels.set(shard.labels, shard.offset);
  }
  return { features, labels, dim, count };
}

/** The labels of a split (-1 for an unlabelled dataset), read shard by shard. */
export async function splitLabels(
  store: BlobStore,
  manifest: DatasetManifest,
  split: Split,
  onShard?: ShardProgress,
): Promise<Int32Array> {
  const labels = new Int32Array(manifest.splits[split].count);
  for await (const shard of splitShards(store, manifest, split)) {
    labels.set(shard.labels, shard.offset);
    onShard?.(shard.index + 1, shard.total);
  }
  return labels;
}

/**
 * The images (and labels) at `indices` of a split, in the order given, read shard by shard: the buffer
 * holds the subset only (1 % of the labels: 1 % of the split), and shards holding none of them are not
 * read (the report's thumbnails). Without `indices`, every image: what training on all labels (the
 * supervised baseline) and scoring a test split need.
 */
export async function gatherImages(
  store: BlobStore,
  manifest: DatasetManifest,
  split: Split,
  indices?: ArrayLike<number>,
  onShard?: ShardProgress,
): Promise<{ pixels: Uint8Array; labels: Int32Array; count: number }> {
  const bytes = manifest.imageSize * manifest.imageSize * manifest.channels;
  const splitCount = manifest.splits[split].count;
  const wanted = indices ?? { length: splitCount };
  const count = wanted.length;
  // For each split index, where it goes in the subset (a split index may be asked for more than once).
  const slots = new Map<number, number[]>();
  for (let i = 0; indices && i < count; i++) {
    const at = indices[i];
    if (!Number.isInteger(at) || at < 0 || at >= splitCount)
      throw new Error(`gatherImages: index ${at} is outside the ${split} split (${splitCount} images)`);
    const list = slots.get(at);
    if (list) list.push(i);
    else slots.set(at, [i]);
  }
  const pixels = new Uint8Array(count * bytes);
  const labels = new Int32Array(count);
  const sorted = [...slots.keys()].sort((a, b) => a - b);
  // Whether any wanted index lies in [offset, offset + n): the first one ≥ offset, by binary search.
  const holdsWanted = (offset: number, n: number) => {
    let lo = 0;
    for (let hi = sorted.length; lo < hi;) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo < sorted.length && sorted[lo] < offset + n;
  };
  for await (const shard of splitShards(store, manifest, split, indices ? holdsWanted : undefined)) {
    if (!indices) {
      pixels.set(shard.pixels, shard.offset * bytes);
      labels.set(shard.labels, shard.offset);
      onShard?.(shard.index + 1, shard.total);
      continue;
    }
    for (let j = 0; j < shard.count; j++) {
      for (const slot of slots.get(shard.offset + j) ?? []) {
        pixels.set(shard.pixels.subarray(j * bytes, (j + 1) * bytes), slot * bytes);
        labels[slot] = shard.labels[j];
      }
    }
    onShard?.(shard.index + 1, shard.total);
  }
  return { pixels, labels, count };
}

/**
 * A split as fine-tuning scores it (simclr/evaluate/finetune.ts LabelledParts): its shards one at a
 * time, read again at each scoring, never one buffer of the whole split.
 */
export function splitParts(
  store: BlobStore,
  manifest: DatasetManifest,
  split: Split,
  onShard?: ShardProgress,
): LabelledParts {
  const side = manifest.imageSize;
  return {
    count: manifest.splits[split].count,
    shape: { height: side, width: side, channels: manifest.channels },
    parts: async function* () {
      for await (const shard of splitShards(store, manifest, split)) {
        onShard?.(shard.index + 1, shard.total);
        yield { pixels: shard.pixels, labels: shard.labels, count: shard.count };
      }
    },
  };
}
