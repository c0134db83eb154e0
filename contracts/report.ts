/**
 * What crosses the Temporal boundary for the experiment report [cpu]: everything the workflow knows
 * about the run, and the keys of the report it wrote. Plain JSON, no secrets.
 */
import type { ExperimentConfig } from '../config/schema';
import type { DatasetInput } from './dataset';
import type { BaselineResults, FineTuneResult, RepresentationEval } from './evaluate';
import type { StageTiming } from './experiment';
import type { PretrainEpochResult } from './pretrain';
import type { Lineage, PromotionDecision } from './retrain';

export interface WriteReportInput {
  experimentId: string;
  workflowId: string;
  runId: string;
  webUiUrl?: string;
  config: ExperimentConfig;
  dataset: DatasetInput;
  stages: StageTiming[];
  pretrain: PretrainEpochResult[];
  augmentationWaitMs: number;
  pretrained: RepresentationEval;
  baseline?: RepresentationEval;
  fineTune: FineTuneResult[];
  /** Raw pixels, supervised upper bound, training from scratch; absent in runs that predate them. */
  baselines?: BaselineResults;
  /** A run of a schedule: its lineage (the report compares it with its parent run) and promotion. */
  lineage?: Lineage;
  promotion?: PromotionDecision;
}

export interface WriteReportOutput {
  reportKey: string;
  reportHtmlKey: string;
  storeLocation: string;
}
