/**
 * Dataset activities [cpu]: inspect the source and plan the shards, write each shard (fanned out by the
 * workflow), commit the dataset by writing its manifest last. The dataset id is a fingerprint of the
 * source's files and the sharding parameters, so a second experiment on the same data reuses it.
 */
import { resolveExperiment } from '../config/resolve';
import { fingerprint } from '../config/fingerprint';
import type { ExperimentConfig } from '../config/schema';
import { encodeShard, decodeShard } from '../simclr/datasets/shard-format';
import { checkDataFitsExperiment } from '../simclr/datasets/requirements';
import { DatasetError, openSource, type DatasetSource } from '../simclr/datasets/source';
import { datasetPrefix, shardKey, shardStatsKey } from '../storage/layout';
import { readManifest, writeManifest } from '../storage/manifest';
import type { BlobStore } from '../storage/blob-store';
import type { DatasetManifest, DatasetPlan, ShardResult, Split } from '../contracts/dataset';
import { activityStore, guard, heartbeat, log } from './context';
import { locateSource } from './dataset-source';

export { datasetPrefix, shardKey };

async function open(config: ExperimentConfig): Promise<{ source: DatasetSource; contentId: string }> {
  const location = await locateSource(config.dataset.source);
  const source = await openSource(location.localPath, config.dataset, config.seed);
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
    const committed = (await readManifest(store, datasetPrefix(datasetId))) !== undefined;
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

function perClassCounts(labels: Int32Array, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const l of labels) if (l >= 0 && l < classes) counts[l]++;
  return counts;
}

/** Decodes and writes one shard; skips the work when the shard is already there. */
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
    const statsKey = shardStatsKey(plan.datasetId, split, shard);
    if (await store.exists(statsKey))
      return JSON.parse((await store.get(statsKey)).toString('utf8')) as ShardResult;
    const { source } = await open(config);
    const start = shard * plan.shardSize;
    const count = Math.min(plan.shardSize, plan.splits[split].count - start);
    heartbeat({ split, shard, start, count });
    const read = await source.readRange(split, start, count);
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
      skipped: input.shards.flatMap((s) => s.skipped),
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

/** All images and labels of a split, concatenated from its shards (for evaluation). */
export async function loadSplit(
  store: BlobStore,
  manifest: DatasetManifest,
  split: Split,
): Promise<{ pixels: Uint8Array; labels: Int32Array; count: number }> {
  const { count } = manifest.splits[split];
  const bytes = manifest.imageSize * manifest.imageSize * manifest.channels;
  const pixels = new Uint8Array(count * bytes);
  const labels = new Int32Array(count);
  let at = 0;
  for (const s of manifest.splits[split].shards) {
    const shard = decodeShard(await store.get(s.key), s.key);
    pixels.set(shard.pixels, at * bytes);
    if (shard.labels) labels.set(shard.labels, at);
    else labels.fill(-1, at, at + shard.count);
    at += shard.count;
  }
  return { pixels, labels, count };
}
