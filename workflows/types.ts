/**
 * The data that flows between the CLI, the workflows and the activities. Plain JSON, no secrets
 * (credentials come from each process's env), small enough for workflow history.
 */
import type { ExperimentConfig } from '../config/schema';

export const CPU_QUEUE = 'simclr-cpu';
export const GPU_QUEUE = 'simclr-gpu';

export type Split = 'train' | 'test';

/**
 * Failures no retry can fix, by error name: bad config, bad data, a checkpoint of another config, a
 * diverged loss. Activities turn them into non-retryable failures; the workflows list them too.
 */
export const NON_RETRYABLE_ERRORS = [
  'ConfigError',
  'DatasetError',
  'CheckpointMismatchError',
  'DivergedError',
];

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

/** Heartbeat details of pretrainEpoch: enough to resume a retried attempt. */
export interface PretrainHeartbeat {
  epoch: number;
  /** Global optimisation step completed. */
  step: number;
  stepsPerEpoch: number;
  loss: number;
  checkpoint?: string;
}

export interface PretrainEpochResult {
  epoch: number;
  globalStep: number;
  meanLoss: number;
  meanContrastiveAcc: number;
  checkpoint: string;
  seconds: number;
  imagesPerSec: number;
  knnTop1?: number;
  backend: string;
  /** Where the epoch's seconds went (absent in results recorded before it existed). */
  time?: PretrainEpochTime;
}

/**
 * The time breakdown of one pretrainEpoch call, in seconds; the rest of `seconds` is heartbeats and
 * yielding to the event loop. Also written as metric records pretrain/time_<part>_s.
 */
export interface PretrainEpochTime {
  /** Backend, store, building the model or restoring it from a checkpoint. */
  setupSeconds: number;
  /** The loop waiting for batches of views (shard fetches not finished, batch assembly). */
  viewsSeconds: number;
  /** Training steps, metric reads included. */
  stepsSeconds: number;
  /** Checkpoint writes (every pretrain.checkpointEverySteps and the last one). */
  checkpointSeconds: number;
  /** The kNN monitor (0 in epochs without one). */
  knnSeconds: number;
  /** Writing the epoch's metrics chunk. */
  metricsSeconds: number;
}

export interface EvaluationResult {
  top1: number;
  top5: number;
}

/**
 * What a representation comes from: the SimCLR encoder ('pretrained'), the same architecture never
 * trained ('random-init'), or no encoder at all, the flattened image ('pixels').
 */
export type RepresentationSource = 'pretrained' | 'random-init' | 'pixels';

export interface RepresentationEval {
  encoder: RepresentationSource;
  linear: EvaluationResult;
  knn: EvaluationResult & { k: number };
}

export interface FineTuneResult extends EvaluationResult {
  fraction: number;
  labelledImages: number;
}

/** The supervised upper bound: the encoder trained from random init on every training label. */
export interface SupervisedResult extends EvaluationResult {
  epochs: number;
  labelledImages: number;
}

/**
 * The baselines besides the random-init encoder (config `evaluation.baselines`); each is absent when
 * switched off, and the whole object is absent in runs that predate it.
 */
export interface BaselineResults {
  /** Linear evaluation and kNN on the raw pixels. */
  pixels?: RepresentationEval;
  /** The same encoder trained with all labels from random init for pretrain.epochs. */
  supervised?: SupervisedResult;
  /** Training from scratch on each label fraction, with the fine-tuning settings. */
  scratchFineTune?: FineTuneResult[];
}

export interface StageTiming {
  stage: Stage;
  startedAt: string;
  endedAt?: string;
  seconds?: number;
}

export type Stage =
  | 'validate'
  | 'shard'
  | 'pretrain'
  | 'finetune'
  | 'evaluate'
  | 'baselines'
  | 'report'
  | 'done'
  | 'failed'
  | 'cancelled';

export interface ExperimentInput {
  experimentId: string;
  config: ExperimentConfig;
  /** Continue from the experiment's last good checkpoint (`simclr resume`). */
  resume?: boolean;
  /** The web UI URL of this run, for the report (known to the starter, not to the workflow). */
  webUiUrl?: string;
  /**
   * The store the run's data lives in (storage/store-id.ts: its id and location, never credentials):
   * every activity checks that its worker uses this store (workflows/store-header.ts).
   */
  store?: { id: string; location: string };
}

export interface ExperimentResults {
  pretrained: RepresentationEval;
  /** The random-init encoder (evaluation.randomInitBaseline). */
  baseline?: RepresentationEval;
  fineTune: FineTuneResult[];
  /** Raw pixels, supervised upper bound, training from scratch (evaluation.baselines). */
  baselines?: BaselineResults;
  reportKey: string;
  reportHtmlKey: string;
  storeLocation: string;
}

/** The answer to the `progress` query of the experiment workflow. */
export interface ExperimentProgress {
  experimentId: string;
  stage: Stage;
  datasetId?: string;
  epoch: number;
  epochs: number;
  lastCheckpoint?: string;
  lastLoss?: number;
  lastKnnTop1?: number;
  stages: StageTiming[];
  pretrainWorkflowId?: string;
  /** The checkpoint pretraining resumed from (`simclr resume`), when it did not start fresh. */
  resumedFrom?: string;
  /** Total ms the pretrain loop waited for augmentations to be ready. */
  augmentationWaitMs: number;
  results?: ExperimentResults;
  error?: string;
}

/** Input of the pretrain loop (child workflow), carried across continue-as-new. */
export interface PretrainLoopInput {
  experimentId: string;
  config: ExperimentConfig;
  dataset: DatasetManifest;
  augmentationId: string;
  stepsPerEpoch: number;
  /** First epoch to run (0-based). */
  startEpoch: number;
  /** Checkpoint to start from (undefined: fresh initialisation). */
  checkpoint?: string;
  history: PretrainEpochResult[];
  augmentationWaitMs: number;
}

export interface PretrainLoopProgress {
  epoch: number;
  epochs: number;
  checkpoint?: string;
  history: PretrainEpochResult[];
  augmentationWaitMs: number;
}
