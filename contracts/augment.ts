/**
 * What crosses the Temporal boundary for the augmentation activities [cpu]: one (epoch, shard) of views
 * to precompute ahead of training, and one consumed epoch to delete. Plain JSON, no secrets.
 */
import type { ExperimentConfig } from '../config/schema';
import type { DatasetInput, DatasetManifest, ShardRange } from './dataset';

/** One (epoch, shard), as the pretrain loop scheduled it before PrecomputeRangeInput existed. */
export interface PrecomputeInput {
  config: ExperimentConfig;
  dataset: DatasetManifest;
  augmentationId: string;
  epoch: number;
  shard: number;
}

export interface PrecomputeResult {
  key: string;
  count: number;
  /** True when the views were already there (an earlier attempt or run wrote them). */
  skipped: boolean;
  ms: number;
}

/** One epoch's views of a range of shards (the pretrain loop's batched fan-out). */
export interface PrecomputeRangeInput {
  config: ExperimentConfig;
  dataset: DatasetInput;
  augmentationId: string;
  epoch: number;
  shards: ShardRange;
}

export interface PrecomputeRangeResult {
  epoch: number;
  shards: ShardRange;
  images: number;
  /** Shards whose views were already there (an earlier attempt or run wrote them). */
  reused: number;
  ms: number;
}

export interface DeleteAugmentationsInput {
  dataset: DatasetInput;
  augmentationId: string;
  epoch: number;
}
