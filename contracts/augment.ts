/**
 * What crosses the Temporal boundary for the augmentation activities [cpu]: one (epoch, shard) of views
 * to precompute ahead of training, and one consumed epoch to delete. Plain JSON, no secrets.
 */
import type { ExperimentConfig } from '../config/schema';
import type { DatasetManifest } from './dataset';

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

export interface DeleteAugmentationsInput {
  dataset: DatasetManifest;
  augmentationId: string;
  epoch: number;
}
