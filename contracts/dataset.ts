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
