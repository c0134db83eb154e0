/**
 * What crosses the Temporal boundary for pretraining: where the loop starts (`preparePretraining`
 * [cpu]), one epoch's input, heartbeat and result (`pretrainEpoch` [gpu]). Plain JSON, no secrets.
 */
import type { ExperimentConfig } from '../config/schema';
import type { DatasetInput } from './dataset';

export interface PrepareInput {
  experimentId: string;
  config: ExperimentConfig;
  dataset: DatasetInput;
  resume: boolean;
}

export interface PrepareResult {
  augmentationId: string;
  stepsPerEpoch: number;
  startEpoch: number;
  checkpoint?: string;
  /** On resume: the epochs before startEpoch, as the earlier run(s) recorded them (activities/pretrain-history.ts). */
  history?: PretrainEpochResult[];
}

export interface PretrainEpochInput {
  experimentId: string;
  config: ExperimentConfig;
  dataset: DatasetInput;
  augmentationId: string;
  epoch: number;
  stepsPerEpoch: number;
  /** The checkpoint the epoch starts from (undefined: fresh initialisation at epoch 0). */
  checkpoint?: string;
  /**
   * Warm start (a scheduled retrain): without `checkpoint`, epoch 0 starts from the encoder and head
   * weights of this checkpoint of another run, with a fresh optimiser and schedule.
   */
  warmStartFrom?: string;
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
