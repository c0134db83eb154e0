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
import { datasetPrefix, shardKey, shardStatsKey } from '../storage/layout';
import { manifestKey, readManifest, writeManifest } from '../storage/manifest';
import type { BlobStore } from '../storage/blob-store';
import type {
  CommitShardsInput,
  DatasetManifest,
  DatasetPlan,
  DatasetRef,
  ShardingPlan,
  ShardRangeInput,
  ShardRangeResult,
  ShardResult,
  Split,
} from '../contracts/dataset';
import { shardingPlanOf } from '../contracts/dataset';
import { activityStore, guard, heartbeat, log, progressHeartbeat } from './context';
import { datasetRefOf, forgetDatasetManifest } from './dataset-manifests';
import { locateSource } from './dataset-source';
import { intactShard, readShard } from './shard-objects';

export { datasetPrefix, shardKey };
/** The commit marker of a shard from its key: storage/layout.ts's shardStatsKey, the same name in .json. */
const statsKeyOf = (shardKey: string) => shardKey.replace(/\.bin$/, '.json');

/** Locates and opens the experiment's source, heartbeating through the walk and the listing of a big folder. */
export async function openDatasetSource(
  config: ExperimentConfig,
): Promise<{ source: DatasetSource; contentId: string }> {
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
  return guard(() =>
    planDataset(input.config, (source) => {
      // Validates the combination of settings for data of this shape (throws ConfigError).
      resolveExperiment(input.config, { imageSize: source.shape.height, channels: source.shape.channels });
      // Everything else knowable before sharding: a batch of images, labels, a test split (DatasetError).
      checkDataFitsExperiment(source, input.config);
    }),
  );
}

/**
 * Opens the source of `config.dataset`, runs `check` on it, and plans its shards under a dataset id that
 * fingerprints the source's files and the sharding parameters (so an experiment and `simclr embed` of the
 * same data with the same parameters share the shards). Not an activity: inspectDataset and
 * planEmbedding (activities/embed.ts) call it with their own checks.
 */
export async function planDataset(
  config: ExperimentConfig,
  check: (source: DatasetSource) => void,
): Promise<DatasetPlan> {
  const { source, contentId } = await openDatasetSource(config);
  check(source);
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
    committed: committed !== undefined,
    ref: committed && datasetRefOf(committed),
  };
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
): Promise<DatasetManifest | undefined> {
  let manifest: DatasetManifest | undefined;
  try {
    manifest = await readManifest<DatasetManifest>(store, datasetPrefix(datasetId));
  } catch (err) {
    if (!(err instanceof CorruptObjectError)) throw err;
    log().warn(`${err.message}: sharding dataset ${datasetId} again`);
    await store.delete(err.key);
    return undefined;
  }
  if (!manifest) return undefined;
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
  if (damaged.length === 0) return manifest;
  await uncommitDataset(store, datasetId, damaged);
  return undefined;
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
  forgetDatasetManifest(store, datasetId);
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
    return writeShard(await activityStore(), lazySource(config), shardingPlanOf(plan), split, shard);
  });
}

/**
 * Decodes and writes shards [from, to) of one split, each as shardDataset does (an intact shard is
 * kept), opening the source once. Returns counts: each shard's result, with its skipped files, is its
 * commit marker in the store, which commitDatasetShards reads.
 */
export async function shardDatasetRange(input: ShardRangeInput): Promise<ShardRangeResult> {
  return guard(async () => {
    const { config, plan, split, shards } = input;
    const store = await activityStore();
    const source = lazySource(config);
    let images = 0;
    let skipped = 0;
    // A heartbeat per shard too: checking an intact shard (kept, no decoding) reads all of it.
    const report = progressHeartbeat({ split, shards })(`shard ${split} range`);
    report(0, shards.to - shards.from);
    for (let shard = shards.from; shard < shards.to; shard++) {
      const r = await writeShard(store, source, plan, split, shard);
      report(shard + 1 - shards.from, shards.to - shards.from);
      images += r.count;
      skipped += r.skipped.length;
    }
    return { split, shards, images, skipped };
  });
}

/** The source, opened on first use only (every shard of a range may be written already). */
function lazySource(config: ExperimentConfig): () => Promise<DatasetSource> {
  let source: Promise<DatasetSource> | undefined;
  return () => (source ??= openDatasetSource(config).then((o) => o.source));
}

/** One shard of the plan: the result of an intact earlier write, or decoded and written now. */
async function writeShard(
  store: BlobStore,
  openSourceOnce: () => Promise<DatasetSource>,
  plan: ShardingPlan,
  split: Split,
  shard: number,
): Promise<ShardResult> {
  const key = shardKey(plan.datasetId, split, shard);
  const statsKey = statsKeyOf(key);
  const done = await committedShard(store, key, statsKey);
  if (done) return done;
  const source = await openSourceOnce();
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
    perClass: perClassCounts(read.labels, plan.classCount),
    skipped: read.skipped,
  };
  // The stats file is the shard's commit marker: written after its data.
  await store.put(statsKey, JSON.stringify(result));
  return result;
}

/** Writes the dataset manifest (last), which makes the dataset visible to training. */
export async function commitDataset(input: {
  config: ExperimentConfig;
  plan: DatasetPlan;
  shards: ShardResult[];
}): Promise<DatasetManifest> {
  return guard(async () => writeDatasetManifest(input.config, shardingPlanOf(input.plan), input.shards));
}

/**
 * Commits a dataset whose shards shardDatasetRange wrote: reads each shard's commit marker (its counts
 * and skipped files) from the store, writes the manifest last and returns the reference the workflows
 * carry. A shard without an intact marker fails the commit, naming it (the run shards it again).
 */
export async function commitDatasetShards(input: CommitShardsInput): Promise<DatasetRef> {
  return guard(async () => {
    const { config, plan } = input;
    const store = await activityStore();
    const shards: ShardResult[] = [];
    const total = plan.splits.train.shards + plan.splits.test.shards;
    const report = progressHeartbeat()('read shard markers');
    for (const split of ['train', 'test'] as const) {
      for (let shard = 0; shard < plan.splits[split].shards; shard++) {
        const key = shardStatsKey(plan.datasetId, split, shard);
        let marker: ShardResult;
        try {
          marker = JSON.parse((await store.get(key)).toString('utf8')) as ShardResult;
        } catch (err) {
          throw new Error(
            `cannot commit dataset ${plan.datasetId}: shard marker ${key} in ${store.location}: ${(err as Error).message}`,
          );
        }
        shards.push(marker);
        report(shards.length, total);
      }
    }
    return datasetRefOf(await writeDatasetManifest(config, plan, shards));
  });
}

/** Builds the manifest from every shard's result and writes it (last). */
async function writeDatasetManifest(
  config: ExperimentConfig,
  plan: ShardingPlan,
  results: ShardResult[],
): Promise<DatasetManifest> {
  // The files the listing left out (a README, a broken link) are reported with the undecodable ones.
  const { source } = await openDatasetSource(config);
  const split = (name: Split) => {
    const shards = results.filter((s) => s.split === name).sort((a, b) => a.shard - b.shard);
    const perClass = new Array<number>(plan.classCount).fill(0);
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
    classNames: source.classNames,
    shardSize: plan.shardSize,
    splits: { train: split('train'), test: split('test') },
    skipped: [...source.ignored, ...results.flatMap((s) => s.skipped)],
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
}

export async function readDatasetManifest(input: { datasetId: string }): Promise<DatasetManifest> {
  const store = await activityStore();
  const m = await readManifest<DatasetManifest>(store, datasetPrefix(input.datasetId));
  if (!m) throw new Error(`dataset ${input.datasetId} has no manifest in ${store.location}`);
  return m;
}

/** One verified shard of a split, as splitShards yields it. */
export interface SplitShard {
  /** The shard's position in the split (0-based) and the number of shards. */
  index: number;
  total: number;
  /** The split index of the shard's first image. */
  offset: number;
  count: number;
  pixels: Uint8Array;
  /** One class index per image; -1 for an unlabelled dataset. */
  labels: Int32Array;
}

/**
 * The shards of a split one at a time, verified, in order: a reader holds one shard (~300 MB at
 * ImageNet size) rather than one buffer for the whole split, which no JS typed array can hold above
 * ~4 GiB. The consumers (activities/split-reads.ts) keep what they need of each shard: features,
 * labels, a labelled subset. A corrupt shard un-commits the dataset (readDatasetShard). With `wanted`,
 * only the shards it accepts (by the split index of their first image and their count, from the
 * manifest) are read: a few thousand images of a split need not read all of it.
 */
export async function* splitShards(
  store: BlobStore,
  manifest: DatasetManifest,
  split: Split,
  wanted?: (offset: number, count: number) => boolean,
): AsyncGenerator<SplitShard> {
  const entries = manifest.splits[split].shards;
  let offset = 0;
  for (const [index, entry] of entries.entries()) {
    if (wanted && !wanted(offset, entry.count)) {
      offset += entry.count;
      continue;
    }
    const shard = await readDatasetShard(store, manifest.datasetId, entry);
    const labels = shard.labels ?? new Int32Array(shard.count).fill(-1);
    yield { index, total: entries.length, offset, count: shard.count, pixels: shard.pixels, labels };
    offset += shard.count;
  }
}
