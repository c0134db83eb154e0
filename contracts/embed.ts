/**
 * What crosses the Temporal boundary for `simclr embed` (workflows/embed.ts): the workflow's input,
 * progress and result, and the inputs and outputs of its activities. Inputs stay small (ids, keys, one
 * shard number): never a list of every shard, so a million-image source keeps a small history.
 */
import type { ExperimentConfig } from '../config/schema';
import type { DatasetPlan, Split } from './dataset';
import type { StoreRef } from './store';

/** The embeddings file formats (simclr/embeddings-file.ts writes and reads both). */
export const EMBEDDING_FORMATS = ['parquet', 'npy'] as const;
export type EmbeddingFormat = (typeof EMBEDDING_FORMATS)[number];

/** Which splits of the source to embed: one, or both (`all`, train rows first). */
export const EMBED_SPLITS = ['all', 'train', 'test'] as const;
export type EmbedSplits = (typeof EMBED_SPLITS)[number];

/**
 * The encoder that embeds, pinned: `ref` is what simclr/encoder-source.ts resolves again on every worker
 * (a checkpoint key in the store, a checkpoint folder, or an exported model folder), so every shard is
 * embedded by the same checkpoint even while its run goes on training.
 */
export type EmbedModel =
  | { kind: 'checkpoint'; ref: string; key: string; step: number; experimentId?: string }
  | { kind: 'exported'; ref: string };

export interface EmbedInput {
  /** The workflow id, also the name of its log. */
  embedRunId: string;
  /** As the user gave it: a run (experiment) id or the folder of an exported model. */
  model: string;
  /** Any dataset source the pipeline accepts: a local folder (image folder, IDX, CIFAR-10) or s3://. */
  source: string;
  splits: EmbedSplits;
  format: EmbeddingFormat;
  /** How many shards are sharded and embedded at once (activities in flight). */
  concurrency: number;
  /** Images per forward pass. */
  batchSize: number;
  /** The store the CLI uses (workers check theirs against it; workflows/store-header.ts). */
  store?: StoreRef;
}

/** The small dataset settings an embedding reads its source with (the image shape is the model's). */
export interface EmbedDatasetRef {
  source: string;
  imageSize: number;
  channels: 1 | 3;
  seed: number;
}

/** What `planEmbedding` resolved: the model, the dataset plan and where the parts go. */
export interface EmbedPlan {
  /** Content address of (model, dataset): the parts of a second embedding of the same pair are reused. */
  embedId: string;
  model: EmbedModel;
  /** Human-readable, for the file's metadata and the web UI. */
  modelDescription: string;
  dataset: EmbedDatasetRef;
  /** The config shardDataset reads the source with (the experiment's dataset activities, reused). */
  config: ExperimentConfig;
  plan: DatasetPlan;
  splits: Split[];
}

export interface PlanEmbeddingInput {
  model: string;
  source: string;
  splits: EmbedSplits;
}

/** One shard to embed: its dataset shard and the part it becomes. */
export interface EmbedShardInput {
  embedId: string;
  model: EmbedModel;
  datasetId: string;
  split: Split;
  shard: number;
  batchSize: number;
}

export interface EmbedShardResult {
  split: Split;
  shard: number;
  count: number;
  dim: number;
  /** False when the part was already complete in the store (a rerun or a retry): nothing computed. */
  computed: boolean;
  /** Seconds of the forward passes (0 when reused). */
  seconds: number;
}

export interface WriteEmbeddingsInput {
  embedId: string;
  model: EmbedModel;
  modelDescription: string;
  dataset: EmbedDatasetRef;
  datasetId: string;
  /** Splits in row order, with how many shards each has. */
  splits: { split: Split; shards: number }[];
  format: EmbeddingFormat;
}

export interface WriteEmbeddingsOutput {
  /** The files in the store: the embeddings file first (`.parquet` or `.npy`), then the `.npy`'s CSV and metadata. */
  keys: string[];
  storeLocation: string;
  rows: number;
  dim: number;
  bytes: number;
}

export type EmbedStage = 'plan' | 'embed' | 'write' | 'done' | 'failed' | 'cancelled';

/** The `embedProgress` query. */
export interface EmbedProgress {
  stage: EmbedStage;
  embedId?: string;
  shards: { total: number; done: number; reused: number };
  /** Rows to embed, done so far, and of those computed (not reused) by this run. */
  images: { total: number; done: number; computed: number };
  /** Seconds of forward passes summed over the parts computed. */
  embedSeconds: number;
  /** When the embed stage began (ISO 8601): the basis of the wall-clock rate and the ETA. */
  embedStartedAt?: string;
  error?: string;
}

export interface EmbedResult extends WriteEmbeddingsOutput {
  embedId: string;
  model: EmbedModel;
  modelDescription: string;
  datasetId: string;
  format: EmbeddingFormat;
  shards: { total: number; computed: number; reused: number };
  /** Images per second of the forward passes of the parts computed (undefined when all were reused). */
  imagesPerSecond?: number;
}
