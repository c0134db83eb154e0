/**
 * What crosses the Temporal boundary for the experiment workflow and its pretrain loop (child
 * workflow): the input the CLI starts it with, the progress its queries answer, its results. Plain
 * JSON, no secrets (credentials come from each process's env), small enough for workflow history.
 */
import type { StoreRef } from './store';
import type { ExperimentConfig } from '../config/schema';
import type { DatasetInput } from './dataset';
import type { BaselineResults, FineTuneResult, RepresentationEval } from './evaluate';
import type { PretrainEpochResult } from './pretrain';
import type { Lineage, PromotionDecision } from './retrain';

export interface StageTiming {
  stage: Stage;
  startedAt: string;
  endedAt?: string;
  seconds?: number;
}

/** The stages an experiment runs through, in order (workflows/experiment.ts). */
export const WORK_STAGES = [
  'validate',
  'shard',
  'pretrain',
  'finetune',
  'evaluate',
  'baselines',
  'report',
] as const;

/** Every value of the SimclrStage search attribute: the work stages, then how the run ended. */
export const STAGES = [...WORK_STAGES, 'done', 'failed', 'cancelled'] as const;

export type Stage = (typeof STAGES)[number];

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
  store?: StoreRef;
  /**
   * A run of a schedule (workflows/retrain.ts): where it came from (warm start included), and the
   * tolerance its encoder's promotion to the schedule's current model is judged with.
   */
  retrain?: { lineage: Lineage; tolerancePoints: number };
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
  /** A run of a schedule: whether its encoder became the schedule's current model. */
  promotion?: PromotionDecision;
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
  dataset: DatasetInput;
  augmentationId: string;
  stepsPerEpoch: number;
  /** First epoch to run (0-based). */
  startEpoch: number;
  /** Checkpoint to start from (undefined: fresh initialisation). */
  checkpoint?: string;
  history: PretrainEpochResult[];
  augmentationWaitMs: number;
  /** Warm start: the first epoch (without `checkpoint`) starts from this checkpoint's weights. */
  warmStartFrom?: string;
}

export interface PretrainLoopProgress {
  epoch: number;
  epochs: number;
  checkpoint?: string;
  history: PretrainEpochResult[];
  augmentationWaitMs: number;
}
