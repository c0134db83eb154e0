/**
 * What crosses the Temporal boundary for the dataset activities [cpu]: the plan `inspectDataset` makes,
 * each shard `shardDataset` writes, and the manifest `commitDataset` writes last. Plain JSON, no secrets.
 */
import type { ExperimentConfig } from '../config/schema';

export type Split = 'train' | 'test';

/** What `inspectDataset` learns about a source before sharding. */
export interface DatasetPlan {
  datasetId: string;
  format: 'folder' | 'idx' | 'cifar10';
  imageSize: number;
  channels: 1 | 3;
  labelled: boolean;
  classNames: string[];
  shardSize: number;
  splits: Record<Split, { count: number; shards: number }>;
  /** True when datasets/<id>/MANIFEST.json already exists: nothing to shard. */
  committed: boolean;
  /** The committed dataset, when `committed` (absent in results recorded before it existed). */
  ref?: DatasetRef;
}

/**
 * The plan as the shard activities receive it: without the class names (1,000 of them at ImageNet size,
 * copied into every input), which the activities take from the source they open anyway.
 */
export type ShardingPlan = Omit<DatasetPlan, 'classNames' | 'committed' | 'ref'> & { classCount: number };

/** The plan without what the shard activities do not need (pure: workflows call it). */
export function shardingPlanOf(plan: DatasetPlan): ShardingPlan {
  const { classNames, committed: _committed, ref: _ref, ...rest } = plan;
  return { ...rest, classCount: classNames.length };
}

/** Shards `from` (inclusive) to `to` (exclusive) of one split or one epoch: what a batched activity works on. */
export interface ShardRange {
  from: number;
  to: number;
}

/**
 * A committed dataset as the workflows carry it and the activities receive it: its id, the key of its
 * manifest and the counts the workflows plan with; never the shard list nor the skipped files, which
 * stay in the store. At ImageNet size the manifest is ~65 KB; copied into every activity input it made
 * a pretrain-loop run's history grow past Temporal's 50 MB limit. Activities read the manifest from the
 * store (activities/dataset-manifests.ts, cached per worker process).
 */
export interface DatasetRef {
  datasetId: string;
  /** datasets/<datasetId>/MANIFEST.json (storage/layout.ts). */
  manifestKey: string;
  splits: Record<Split, { count: number; shards: number }>;
  /** How many files were left out or could not be decoded; the list is in the manifest. */
  skipped: number;
}

/**
 * What the activities that work on a committed dataset accept: a DatasetRef, or the whole manifest
 * (inputs scheduled before DatasetRef existed, still delivered to in-flight runs: same behaviour as then).
 */
export type DatasetInput = DatasetManifest | DatasetRef;

export function isDatasetRef(dataset: DatasetInput): dataset is DatasetRef {
  return typeof (dataset as Partial<DatasetRef>).manifestKey === 'string';
}

/** The number of shards of a split, from either shape. */
export function shardCount(dataset: DatasetInput, split: Split): number {
  return isDatasetRef(dataset) ? dataset.splits[split].shards : dataset.splits[split].shards.length;
}

/** One range of shards to decode and write (`shardDatasetRange`). */
export interface ShardRangeInput {
  config: ExperimentConfig;
  plan: ShardingPlan;
  split: Split;
  shards: ShardRange;
}

/**
 * What one `shardDatasetRange` call wrote: counts only. Each shard's own result (with its skipped files)
 * stays in the store as the shard's commit marker, where `commitDatasetShards` reads it.
 */
export interface ShardRangeResult {
  split: Split;
  shards: ShardRange;
  images: number;
  skipped: number;
}

/** Commits a dataset whose shards are all written: the manifest is built from their markers in the store. */
export interface CommitShardsInput {
  config: ExperimentConfig;
  plan: ShardingPlan;
}

/** What one `shardDataset` call wrote. */
export interface ShardResult {
  split: Split;
  shard: number;
  key: string;
  count: number;
  perClass: number[];
  skipped: { file: string; reason: string }[];
}

export interface DatasetManifest {
  datasetId: string;
  source: string;
  format: DatasetPlan['format'];
  imageSize: number;
  channels: 1 | 3;
  classNames: string[];
  shardSize: number;
  splits: Record<Split, { count: number; perClass: number[]; shards: { key: string; count: number }[] }>;
  skipped: { file: string; reason: string }[];
  createdAt: string;
}

/** Validates the experiment against its data (everything that can be known before sharding) and plans the shards. */
export interface InspectDatasetInput {
  experimentId: string;
  config: ExperimentConfig;
}

/** One shard of the plan to decode and write. */
export interface ShardDatasetInput {
  config: ExperimentConfig;
  plan: DatasetPlan;
  split: Split;
  shard: number;
}

/** Every shard written: the manifest is built from them and written last. */
export interface CommitDatasetInput {
  config: ExperimentConfig;
  plan: DatasetPlan;
  shards: ShardResult[];
}

export interface ReadDatasetManifestInput {
  datasetId: string;
}
