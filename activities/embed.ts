/**
 * The activities of `simclr embed` (workflows/embed.ts):
 *
 * - planEmbedding [cpu]: resolves the model (a run's newest checkpoint, or an exported model folder),
 *   plans the source's shards with the experiment's own dataset planning (activities/dataset.ts, so the
 *   shards are content-addressed and shared), and names the embedding by its (model, dataset) pair.
 * - embedShard [gpu]: one dataset shard through the encoder into one part of the store, skipped when the
 *   part is already complete (a rerun, a retry): idempotent, data first and the marker last.
 * - writeEmbeddingsFile [cpu]: the parts, one at a time, into one file (simclr/embeddings-file.ts), put
 *   into the store by streaming: no process ever holds every embedding.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { Transform } from 'node:stream';
import { fingerprint } from '../config/fingerprint';
import { experimentSchema, type ExperimentConfig } from '../config/schema';
import { DatasetError, ModelNotFoundError } from '../contracts/errors';
import type {
  EmbedDatasetRef,
  EmbedModel,
  EmbedPlan,
  EmbedShardInput,
  EmbedShardResult,
  PlanEmbeddingInput,
  WriteEmbeddingsInput,
  WriteEmbeddingsOutput,
} from '../contracts/embed';
import type { ShardResult, Split } from '../contracts/dataset';
import { CheckpointNotFoundError } from '../simclr/checkpoint';
import { createEmbeddingsWriter, embeddingsFiles, type EmbeddingsMeta } from '../simclr/embeddings-file';
import {
  checkpointModel,
  EncoderNotFoundError,
  loadEncoder,
  resolveEncoderSource,
} from '../simclr/encoder-source';
import type { tf } from '../simclr/backend';
import { extractFeatures } from '../simclr/evaluate/features';
import type { ImageShape } from '../simclr/images';
import type { BlobStore } from '../storage/blob-store';
import { embeddingPartKeys, embeddingsFileKey, shardKey, shardStatsKey } from '../storage/layout';
import { activityBackend, activityStore, guard, heartbeat, log, progressHeartbeat } from './context';
import { openDatasetSource, planDataset, readDatasetShard } from './dataset';

/** The experiment config shardDataset reads an embedding's source with: the model's image shape, no limits. */
export function embedConfig(ref: EmbedDatasetRef): ExperimentConfig {
  return experimentSchema.parse({
    name: 'embed',
    seed: ref.seed,
    dataset: { source: ref.source, imageSize: ref.imageSize, channels: ref.channels },
  });
}

/** The model named by `name`, with its input shape, seed and identity (what its embeddings depend on). */
async function resolveModel(
  store: BlobStore,
  name: string,
): Promise<{ model: EmbedModel; shape: ImageShape; seed?: number; identity: unknown; description: string }> {
  let source;
  try {
    source = await resolveEncoderSource(name, async () => store);
  } catch (err) {
    if (err instanceof EncoderNotFoundError || err instanceof CheckpointNotFoundError)
      throw new ModelNotFoundError(`model '${name}': ${err.message}`);
    throw err;
  }
  if (source.kind === 'export') {
    const { input } = source.card;
    const pixelsOver255 =
      Math.abs(input.scale - 1 / 255) < 1e-9 &&
      input.mean.every((m) => m === 0) &&
      input.std.every((v) => v === 1);
    if (!pixelsOver255)
      throw new ModelNotFoundError(
        `model '${name}': its card asks for input scale ${input.scale}, mean ${JSON.stringify(input.mean)}, ` +
          `std ${JSON.stringify(input.std)}; simclr embed feeds pixels / 255 (simclr/images.ts)`,
      );
    return {
      model: { kind: 'exported', ref: source.dir },
      shape: { height: input.height, width: input.width, channels: input.channels },
      identity: { dir: source.dir, card: source.card },
      description: `exported model ${source.dir}`,
    };
  }
  const { key, manifest } = source;
  const step = manifest.globalStep;
  return {
    model: { kind: 'checkpoint', ref: key, key, step, experimentId: source.experimentId },
    shape: checkpointModel(key, manifest).imageShape,
    seed: typeof manifest.config.seed === 'number' ? manifest.config.seed : undefined,
    identity: { store: store.location, key, createdAt: manifest.createdAt, configHash: manifest.configHash },
    description: source.experimentId
      ? `run ${source.experimentId}, checkpoint step ${step}`
      : `checkpoint ${source.store.location}/${key}`,
  };
}

/** The encoder of `model` (loaded once per process and model), as simclr/encoder-source.ts loads it. */
const encoders = new Map<string, Promise<tf.LayersModel>>();
function encoderOf(model: EmbedModel, store: BlobStore): Promise<tf.LayersModel> {
  const id = `${store.location}|${model.kind}|${model.ref}`;
  let entry = encoders.get(id);
  if (!entry) {
    entry = resolveEncoderSource(model.ref, async () => store).then(
      async (s) => (await loadEncoder(s)).model,
    );
    entry.catch(() => encoders.delete(id));
    encoders.set(id, entry);
  }
  return entry;
}

/** Resolves the model, plans the source's shards and names the embedding (activity, cpu). */
export async function planEmbedding(input: PlanEmbeddingInput): Promise<EmbedPlan> {
  return guard(async () => {
    const store = await activityStore();
    const m = await resolveModel(store, input.model);
    if (m.shape.height !== m.shape.width)
      throw new ModelNotFoundError(
        `model '${input.model}': input ${m.shape.height}x${m.shape.width} is not square`,
      );
    const dataset: EmbedDatasetRef = {
      source: input.source,
      imageSize: m.shape.height,
      channels: m.shape.channels,
      seed: m.seed ?? experimentSchema.parse({ name: 'embed', dataset: { source: '/unused' } }).seed,
    };
    const config = embedConfig(dataset);
    const splits: Split[] = input.splits === 'all' ? ['train', 'test'] : [input.splits];
    const plan = await planDataset(config, (source) => {
      const count = splits.reduce((n, s) => n + source.counts[s], 0);
      if (count === 0)
        throw new DatasetError(
          `source '${input.source}' has no images in ${splits.join(' + ')} ${splits.length > 1 ? 'splits' : 'split'}`,
        );
    });
    const embedId = fingerprint({ model: m.identity, datasetId: plan.datasetId });
    log().info(`embedding ${embedId}: ${m.description} on dataset ${plan.datasetId} (${splits.join(' + ')})`);
    return { embedId, model: m.model, modelDescription: m.description, dataset, config, plan, splits };
  });
}

/** The part's marker: written after its data, so a part with a marker is complete. */
interface PartMarker {
  split: Split;
  shard: number;
  count: number;
  dim: number;
  /** One class index per row, −1 when unlabelled. */
  labels: number[];
}

/** The marker of a complete part (its data has the byte length the marker implies), else undefined. */
async function completePart(store: BlobStore, embedId: string, split: Split, shard: number) {
  const keys = embeddingPartKeys(embedId, split, shard);
  if (!(await store.exists(keys.marker))) return undefined;
  try {
    const marker = JSON.parse((await store.get(keys.marker)).toString('utf8')) as PartMarker;
    const size = (await store.stat(keys.data)).size;
    if (size === marker.count * marker.dim * 4) return marker;
    log().warn(
      `embedding part ${keys.data} is ${size} bytes, expected ${marker.count * marker.dim * 4}: computing it again`,
    );
  } catch (err) {
    log().warn(`embedding part ${keys.marker} is unreadable (${(err as Error).message}): computing it again`);
  }
  return undefined;
}

/** The result shardDataset wrote for a shard (its commit marker). */
async function shardStats(
  store: BlobStore,
  datasetId: string,
  split: Split,
  shard: number,
): Promise<ShardResult> {
  return JSON.parse(
    (await store.get(shardStatsKey(datasetId, split, shard))).toString('utf8'),
  ) as ShardResult;
}

/** Embeds one dataset shard into one part (activity, gpu); skips a part that is already complete. */
export async function embedShard(input: EmbedShardInput): Promise<EmbedShardResult> {
  return guard(async () => {
    const { embedId, datasetId, split, shard } = input;
    const store = await activityStore();
    const done = await completePart(store, embedId, split, shard);
    if (done) return { split, shard, count: done.count, dim: done.dim, computed: false, seconds: 0 };
    await activityBackend('auto');
    const stats = await shardStats(store, datasetId, split, shard);
    heartbeat({ split, shard, stage: 'read shard' });
    const data = await readDatasetShard(store, datasetId, {
      key: shardKey(datasetId, split, shard),
      count: stats.count,
    });
    const encoder = await encoderOf(input.model, store);
    const started = Date.now();
    const features = await extractFeatures(
      encoder,
      data.pixels,
      data.count,
      data.shape,
      input.batchSize,
      progressHeartbeat({ split, shard })(`embed ${split} shard ${shard}`),
    );
    const seconds = (Date.now() - started) / 1000;
    const dim = data.count > 0 ? features.length / data.count : (encoder.outputs[0].shape[1] ?? 0);
    const keys = embeddingPartKeys(embedId, split, shard);
    await store.put(keys.data, new Uint8Array(features.buffer, features.byteOffset, features.byteLength));
    const marker: PartMarker = {
      split,
      shard,
      count: data.count,
      dim,
      labels: data.labels ? Array.from(data.labels) : new Array<number>(data.count).fill(-1),
    };
    await store.put(keys.marker, JSON.stringify(marker));
    return { split, shard, count: data.count, dim, computed: true, seconds };
  });
}

/** The float32 rows of a part (little-endian, as Float32Array writes them on every supported host). */
async function partRows(store: BlobStore, key: string): Promise<Float32Array> {
  const bytes = await store.get(key);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

/**
 * Writes the parts, in split and shard order, into one file in a temporary folder and puts it (and, for
 * npy, its CSV and metadata) into the store, streamed (activity, cpu). The row names come from the
 * source's listing minus the images sharding skipped (simclr/datasets/source.ts `names`).
 */
export async function writeEmbeddingsFile(input: WriteEmbeddingsInput): Promise<WriteEmbeddingsOutput> {
  return guard(async () => {
    const store = await activityStore();
    const config = embedConfig(input.dataset);
    const { source } = await openDatasetSource(config);
    // First pass: the row count and width (the npy header and the metadata need them); labels stay in the store.
    const parts: Omit<PartMarker, 'labels'>[] = [];
    for (const { split, shards } of input.splits) {
      for (let s = 0; s < shards; s++) {
        const m = await completePart(store, input.embedId, split, s);
        if (!m)
          throw new Error(`embedding part ${embeddingPartKeys(input.embedId, split, s).marker} is missing`);
        parts.push({ split: m.split, shard: m.shard, count: m.count, dim: m.dim });
      }
    }
    const rows = parts.reduce((n, m) => n + m.count, 0);
    const dim = parts.find((m) => m.count > 0)?.dim ?? parts[0]?.dim ?? 0;
    const meta: EmbeddingsMeta = {
      format: 'simclr-embeddings',
      version: 1,
      rows,
      dim,
      model:
        input.model.kind === 'checkpoint' ? { ...input.model, storeLocation: store.location } : input.model,
      modelDescription: input.modelDescription,
      imageShape: {
        height: input.dataset.imageSize,
        width: input.dataset.imageSize,
        channels: input.dataset.channels,
      },
      source: {
        uri: input.dataset.source,
        format: source.format,
        datasetId: input.datasetId,
        splits: input.splits.map((s) => s.split),
      },
      classNames: source.classNames,
      embedId: input.embedId,
      createdAt: new Date().toISOString(),
    };
    const dir = await mkdtemp(join(tmpdir(), 'simclr-embed-'));
    const name = `${input.splits.map((s) => s.split).join('+')}.${input.format}`;
    const path = join(dir, name);
    try {
      const writer = await createEmbeddingsWriter(path, input.format, meta);
      const report = progressHeartbeat()('write the embeddings file');
      let start = 0;
      for (const [i, part] of parts.entries()) {
        const m = await completePart(store, input.embedId, part.split, part.shard);
        if (!m)
          throw new Error(`embedding part ${part.split} ${part.shard} disappeared while writing the file`);
        const stats = await shardStats(store, input.datasetId, m.split, m.shard);
        const planned = source.names(
          m.split,
          m.shard * config.dataset.shardSize,
          stats.count + stats.skipped.length,
        );
        const skipped = new Set(stats.skipped.map((f) => relative(source.path, f.file).split(sep).join('/')));
        const names = planned.filter((n) => !skipped.has(n));
        if (names.length !== m.count)
          throw new Error(
            `embedding part ${m.split} ${m.shard}: ${m.count} rows but ${names.length} names from the source listing`,
          );
        await writer.append({
          start,
          splits: new Array<Split>(m.count).fill(m.split),
          names,
          labels: Int32Array.from(m.labels),
          embeddings: await partRows(store, embeddingPartKeys(input.embedId, m.split, m.shard).data),
          dim,
        });
        start += m.count;
        report(i + 1, parts.length);
      }
      await writer.finish();
      const keys: string[] = [];
      let bytes = 0;
      for (const file of embeddingsFiles(path, input.format)) {
        const key = embeddingsFileKey(input.embedId, file.slice(dir.length + 1));
        const size = (await stat(file)).size;
        // A file of a million rows takes minutes to upload: heartbeat per chunk read.
        const upload = progressHeartbeat()(`upload ${key}`);
        let sent = 0;
        // Counted on its way through (a 'data' listener on the file stream would start it flowing early).
        const counted = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            upload((sent += chunk.length), size);
            done(null, chunk);
          },
        });
        const read = createReadStream(file).on('error', (err) => counted.destroy(err));
        await store.put(key, read.pipe(counted));
        bytes += size;
        keys.push(key);
      }
      return { keys, storeLocation: store.location, rows, dim, bytes };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
