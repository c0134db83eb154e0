/**
 * Dataset activities [cpu]: inspect the source and plan the shards, write each shard (fanned out by the
 * workflow), commit the dataset by writing its manifest last. The dataset id is a fingerprint of the
 * source's files and the sharding parameters, so a second experiment on the same data reuses it.
 */
import { resolveExperiment } from '../config/resolve';
import { fingerprint } from '../config/fingerprint';
import type { ExperimentConfig } from '../config/schema';
import { encodeShard, shardByteLength, type Shard } from '../simclr/datasets/shard-format';
import { checkDataFitsExperiment } from '../simclr/datasets/requirements';
import { DatasetError, openSource, type DatasetSource } from '../simclr/datasets/source';
import { CorruptObjectError, CorruptShardError } from '../contracts/errors';
import { datasetPrefix, shardKey } from '../storage/layout';
import { manifestKey, readManifest, writeManifest } from '../storage/manifest';
import type { BlobStore } from '../storage/blob-store';
import type { DatasetManifest, DatasetPlan, ShardResult, Split } from '../contracts/dataset';
import { activityStore, guard, heartbeat, log, progressHeartbeat } from './context';
import { locateSource } from './dataset-source';
import { intactShard, readShard } from './shard-objects';

export { datasetPrefix, shardKey };
/** The commit marker of a shard from its key: storage/layout.ts's shardStatsKey, the same name in .json. */
const statsKeyOf = (shardKey: string) => shardKey.replace(/\.bin$/, '.json');

/** Locates and opens the experiment's source, heartbeating through the walk and the listing of a big folder. */
async function open(config: ExperimentConfig): Promise<{ source: DatasetSource; contentId: string }> {
  const location = await locateSource(config.dataset.source);
  const report = progressHeartbeat();
  const source = await openSource(location.localPath, config.dataset, config.seed, {
    onProgress: (stage, done, total) => report(stage)(done, total),
  });
  return { source, contentId: location.contentId };
}

/** Validates the experiment against its data and plans the shards. */
export async function inspectDataset(input: {
  experimentId: string;
  config: ExperimentConfig;
}): Promise<DatasetPlan> {
  return guard(async () => {
    const { config } = input;
    const { source, contentId } = await open(config);
    // Validates the combination of settings for data of this shape (throws ConfigError).
    resolveExperiment(config, { imageSize: source.shape.height, channels: source.shape.channels });
    // Everything else knowable before sharding: a batch of images, labels, a test split (DatasetError).
    checkDataFitsExperiment(source, config);
    const d = config.dataset;
    const datasetId = fingerprint({
      contentId,
      format: source.format,
      imageSize: source.shape.height,
      channels: source.shape.channels,
      shardSize: d.shardSize,
      maxTrainImages: d.maxTrainImages ?? null,
      maxTestImages: d.maxTestImages ?? null,
      // The train/test split of a folder without one depends on the seed and fraction.
      split: source.format === 'folder' ? { seed: config.seed, testFraction: d.testFraction } : null,
    });
    const store = await activityStore();
    const committed = await committedIntact(store, datasetId, source.shape);
    const shards = (n: number) => Math.ceil(n / d.shardSize);
    log().info(
      `dataset ${datasetId}: ${source.format}, ${source.counts.train} train / ${source.counts.test} test${committed ? ' (already sharded)' : ''}`,
    );
    return {
      datasetId,
      format: source.format,
      imageSize: source.shape.height,
      channels: source.shape.channels,
      labelled: source.labelled,
      classNames: source.classNames,
      shardSize: d.shardSize,
      splits: {
        train: { count: source.counts.train, shards: shards(source.counts.train) },
        test: { count: source.counts.test, shards: shards(source.counts.test) },
      },
      committed,
    };
  });
}

/**
 * Whether the dataset is committed and its shards look whole: every shard the manifest lists exists
 * with the byte length its image count implies (one listing, no reads; a bit flip of the same length
 * is caught by the CRC when a reader decodes it, which un-commits the dataset then). A truncated or
 * missing shard, or a manifest that is not JSON, un-commits the dataset, so the workflow shards it
 * again: shardDataset rewrites what is damaged and keeps what is intact.
 */
async function committedIntact(
  store: BlobStore,
  datasetId: string,
  shape: DatasetSource['shape'],
): Promise<boolean> {
  let manifest: DatasetManifest | undefined;
  try {
    manifest = await readManifest<DatasetManifest>(store, datasetPrefix(datasetId));
  } catch (err) {
    if (!(err instanceof CorruptObjectError)) throw err;
    log().warn(`${err.message}: sharding dataset ${datasetId} again`);
    await store.delete(err.key);
    return false;
  }
  if (!manifest) return false;
  const sizes = new Map((await store.list(`${datasetPrefix(datasetId)}/`)).map((o) => [o.key, o.size]));
  const labelled = manifest.classNames.length > 0;
  const damaged: string[] = [];
  for (const split of ['train', 'test'] as const) {
    for (const s of manifest.splits[split].shards) {
      const expected = shardByteLength(s.count, shape, labelled);
      const size = sizes.get(s.key);
      if (size !== expected) {
        log().warn(
          `dataset shard ${s.key} in ${store.location} is ${size === undefined ? 'missing' : `${size} bytes, expected ${expected}`}: sharding dataset ${datasetId} again`,
        );
        damaged.push(s.key);
      }
    }
  }
  if (damaged.length === 0) return true;
  await uncommitDataset(store, datasetId, damaged);
  return false;
}

/**
 * Withdraws a dataset's commit because of damaged shards: deletes the shards' commit markers and then
 * the dataset manifest, so the next run shards the dataset again and rewrites exactly those shards.
 */
export async function uncommitDataset(
  store: BlobStore,
  datasetId: string,
  shardKeys: string[],
): Promise<void> {
  for (const key of shardKeys) await store.delete(statsKeyOf(key));
  await store.delete(manifestKey(datasetPrefix(datasetId)));
}

/**
 * A committed dataset shard, verified. A corrupt one un-commits the dataset (uncommitDataset) and
 * throws the CorruptShardError naming its key (non-retryable): the next run's shardDataset rewrites it.
 */
export async function readDatasetShard(
  store: BlobStore,
  datasetId: string,
  entry: { key: string; count: number },
): Promise<Shard> {
  try {
    return await readShard(store, entry.key, entry.count);
  } catch (err) {
    if (err instanceof CorruptShardError) await uncommitDataset(store, datasetId, [entry.key]);
    throw err;
  }
}

function perClassCounts(labels: Int32Array, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const l of labels) if (l >= 0 && l < classes) counts[l]++;
  return counts;
}

/**
 * The result of an earlier shardDataset of `key` when its commit marker is readable and its data passes
 * the shard checks; undefined (with a warning) when either is damaged: the shard is written again.
 */
async function committedShard(
  store: BlobStore,
  key: string,
  statsKey: string,
): Promise<ShardResult | undefined> {
  if (!(await store.exists(statsKey))) return undefined;
  let result: ShardResult;
  try {
    result = JSON.parse((await store.get(statsKey)).toString('utf8')) as ShardResult;
  } catch (err) {
    log().warn(
      `shard marker ${statsKey} in ${store.location} is corrupt (${(err as Error).message}): rewriting the shard`,
    );
    return undefined;
  }
  const shard = await intactShard(store, key, result.count, (err) =>
    log().warn(`${err.message}: rewriting it`),
  );
  return shard ? result : undefined;
}

/** Decodes and writes one shard; skips the work when an intact shard is already there. */
export async function shardDataset(input: {
  config: ExperimentConfig;
  plan: DatasetPlan;
  split: Split;
  shard: number;
}): Promise<ShardResult> {
  return guard(async () => {
    const { config, plan, split, shard } = input;
    const store = await activityStore();
    const key = shardKey(plan.datasetId, split, shard);
    const statsKey = statsKeyOf(key);
    const done = await committedShard(store, key, statsKey);
    if (done) return done;
    const { source } = await open(config);
    const start = shard * plan.shardSize;
    const count = Math.min(plan.shardSize, plan.splits[split].count - start);
    heartbeat({ split, shard, start, count });
    // One heartbeat per image: a shard of 2,048 large JPEGs takes minutes to decode.
    const read = await source.readRange(
      split,
      start,
      count,
      progressHeartbeat({ split, shard })(`decode ${split} shard ${shard}`),
    );
    await store.put(
      key,
      encodeShard({
        count: read.count,
        shape: source.shape,
        pixels: read.pixels,
        labels: source.labelled ? read.labels : undefined,
      }),
    );
    const result: ShardResult = {
      split,
      shard,
      key,
      count: read.count,
      perClass: perClassCounts(read.labels, plan.classNames.length),
      skipped: read.skipped,
    };
    // The stats file is the shard's commit marker: written after its data.
    await store.put(statsKey, JSON.stringify(result));
    return result;
  });
}

/** Writes the dataset manifest (last), which makes the dataset visible to training. */
export async function commitDataset(input: {
  config: ExperimentConfig;
  plan: DatasetPlan;
  shards: ShardResult[];
}): Promise<DatasetManifest> {
  return guard(async () => {
    const { plan, config } = input;
    // The files the listing left out (a README, a broken link) are reported with the undecodable ones.
    const { source } = await open(config);
    const split = (name: Split) => {
      const shards = input.shards.filter((s) => s.split === name).sort((a, b) => a.shard - b.shard);
      const perClass = new Array<number>(plan.classNames.length).fill(0);
      for (const s of shards) s.perClass.forEach((n, c) => (perClass[c] += n));
      return {
        count: shards.reduce((a, s) => a + s.count, 0),
        perClass,
        shards: shards.map((s) => ({ key: s.key, count: s.count })),
      };
    };
    const manifest: DatasetManifest = {
      datasetId: plan.datasetId,
      source: config.dataset.source,
      format: plan.format,
      imageSize: plan.imageSize,
      channels: plan.channels,
      classNames: plan.classNames,
      shardSize: plan.shardSize,
      splits: { train: split('train'), test: split('test') },
      skipped: [...source.ignored, ...input.shards.flatMap((s) => s.skipped)],
      createdAt: new Date().toISOString(),
    };
    if (manifest.splits.train.count < config.pretrain.batchSize) {
      throw new DatasetError(
        `dataset ${config.dataset.source}: only ${manifest.splits.train.count} training images could be decoded ` +
          `(${manifest.skipped.length} skipped, e.g. ${manifest.skipped[0]?.file}: ${manifest.skipped[0]?.reason})`,
      );
    }
    const store = await activityStore();
    await writeManifest(store, datasetPrefix(plan.datasetId), manifest);
    return manifest;
  });
}

export async function readDatasetManifest(input: { datasetId: string }): Promise<DatasetManifest> {
  const store = await activityStore();
  const m = await readManifest<DatasetManifest>(store, datasetPrefix(input.datasetId));
  if (!m) throw new Error(`dataset ${input.datasetId} has no manifest in ${store.location}`);
  return m;
}

/**
 * All images and labels of a split, concatenated from its verified shards (for evaluation); `onShard`
 * is called after each shard (heartbeats: a split of hundreds of shards is a long read).
 */
export async function loadSplit(
  store: BlobStore,
  manifest: DatasetManifest,
  split: Split,
  onShard?: (done: number, total: number) => void,
): Promise<{ pixels: Uint8Array; labels: Int32Array; count: number }> {
  const { count } = manifest.splits[split];
  const bytes = manifest.imageSize * manifest.imageSize * manifest.channels;
  const pixels = new Uint8Array(count * bytes);
  const labels = new Int32Array(count);
  let at = 0;
  let done = 0;
  for (const s of manifest.splits[split].shards) {
    const shard = await readDatasetShard(store, manifest.datasetId, s);
    pixels.set(shard.pixels, at * bytes);
    if (shard.labels) labels.set(shard.labels, at);
    else labels.fill(-1, at, at + shard.count);
    at += shard.count;
    onShard?.(++done, manifest.splits[split].shards.length);
  }
  return { pixels, labels, count };
}

/**
 * The images at `indices` of a split (in that order, back to back), reading only the shards that hold
 * them: the report's thumbnails need a few thousand images, not the whole training split.
 */
export async function loadImages(
  store: BlobStore,
  manifest: DatasetManifest,
  split: Split,
  indices: ArrayLike<number>,
): Promise<Uint8Array> {
  const bytes = manifest.imageSize * manifest.imageSize * manifest.channels;
  const { count, shards } = manifest.splits[split];
  const out = new Uint8Array(indices.length * bytes);
  // Which shard holds each wanted image, by the shards' cumulative counts.
  const starts: number[] = [];
  let total = 0;
  for (const s of shards) {
    starts.push(total);
    total += s.count;
  }
  const wanted = new Map<number, number[]>();
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    if (!Number.isInteger(index) || index < 0 || index >= count)
      throw new Error(
        `image ${index} is not in the ${split} split of dataset ${manifest.datasetId} (${count} images)`,
      );
    let s = 0;
    for (let lo = 0, hi = starts.length - 1; lo <= hi;) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= index) {
        s = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const positions = wanted.get(s);
    if (positions) positions.push(i);
    else wanted.set(s, [i]);
  }
  for (const [s, positions] of wanted) {
    const shard = await readDatasetShard(store, manifest.datasetId, shards[s]);
    for (const i of positions) {
      const at = indices[i] - starts[s];
      out.set(shard.pixels.subarray(at * bytes, (at + 1) * bytes), i * bytes);
    }
  }
  return out;
}
