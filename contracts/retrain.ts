/**
 * What crosses the Temporal boundary for scheduled retraining: the input a Temporal Schedule starts the
 * `retrain` workflow with (`simclr schedule create`), the plan its first activity makes (skip, or train
 * with this lineage), the lineage an experiment of a schedule carries, the promotion of its encoder and
 * the retrain workflow's result. Plain JSON, no secrets.
 */
import type { ExperimentConfig } from '../config/schema';
import type { StoreRef } from './store';

/** Linear top-1 points (percentage points) a new encoder may lose against the current one and still be promoted. */
export const DEFAULT_PROMOTION_TOLERANCE_POINTS = 0.5;

/** How a retrain run was started: by the schedule (its spec, a backfill, a plain `trigger`) or forced by hand. */
export type RetrainTrigger = 'schedule' | 'manual';

/** The schedule's options, as `simclr schedule create|update` sets them (they travel in the action's input). */
export interface RetrainOptions {
  /** Start pretraining from the encoder of the schedule's previous successful run. */
  warmStart: boolean;
  /** Retrain even when the dataset and config are unchanged since the last successful run. */
  force: boolean;
  /** See DEFAULT_PROMOTION_TOLERANCE_POINTS. */
  promotionTolerancePoints: number;
}

/** The input of the `retrain` workflow: the schedule's action args. */
export interface RetrainInput {
  schedule: string;
  config: ExperimentConfig;
  options: RetrainOptions;
  /** Absent: 'schedule'. `simclr schedule trigger --force` starts the run with 'manual'. */
  trigger?: RetrainTrigger;
  /** The store of the runs' data (see ExperimentInput.store). */
  store?: StoreRef;
  /** The web UI base of the runs' pages (`<ui>/namespaces/<ns>/workflows/`), for their reports. */
  webUiBase?: string;
}

/** Where a run of a schedule came from: stored in its report.json and models/<schedule>/runs/<id>.json. */
export interface Lineage {
  schedule: string;
  trigger: RetrainTrigger;
  /** The schedule's previous successful run (its experiment id), if any. */
  parentRun?: string;
  /** The dataset's id: a fingerprint of its content and sharding (activities/dataset.ts). */
  datasetId: string;
  /** A fingerprint of the experiment config (config/fingerprint.ts, defaults filled in). */
  configHash: string;
  /** The git commit of the workers' checkout, else `<package>@<version>`. */
  codeVersion: string;
  /** The checkpoint pretraining started from (warm start), when it did. */
  warmStartFrom?: string;
}

/** The encoder that is the schedule's current model (models/<schedule>/CURRENT.json). */
export interface CurrentModel {
  experimentId: string;
  checkpoint: string;
  linearTop1: number;
  promotedAt: string;
}

/** Whether a run's encoder became the schedule's current model, and why. */
export interface PromotionDecision {
  schedule: string;
  experimentId: string;
  promoted: boolean;
  reason: string;
  linearTop1: number;
  /** The current model it was compared with (absent: there was none, the first run is promoted). */
  previous?: CurrentModel;
  /** linearTop1 − previous.linearTop1, in percentage points. */
  deltaPoints?: number;
  tolerancePoints: number;
  checkpoint: string;
  decidedAt: string;
}

/** What `planRetrain` [cpu] needs: the schedule's run about to start. */
export interface PlanRetrainInput {
  schedule: string;
  experimentId: string;
  config: ExperimentConfig;
  options: RetrainOptions;
  trigger: RetrainTrigger;
}

/** Skip (with the reason), or train with this lineage. */
export type RetrainPlan =
  | { action: 'skip'; reason: string; lineage: Lineage }
  | { action: 'train'; reason: string; lineage: Lineage };

/** What `promoteEncoder` [cpu] needs: the finished run's encoder and its linear evaluation. */
export interface PromoteEncoderInput {
  schedule: string;
  experimentId: string;
  checkpoint: string;
  linearTop1: number;
  tolerancePoints: number;
}

/** What `recordScheduledRun` [cpu] writes once the run completed: models/<schedule>/runs/<id>.json. */
export interface ScheduledRunRecord {
  experimentId: string;
  lineage: Lineage;
  completedAt: string;
  linearTop1: number;
  knnTop1: number;
  checkpoint?: string;
  promotion?: PromotionDecision;
}

/** The retrain workflow's result: a skipped run, or the experiment it ran. */
export interface RetrainResult {
  schedule: string;
  status: 'skipped' | 'completed';
  reason: string;
  experimentId?: string;
  lineage: Lineage;
  linearTop1?: number;
  promotion?: PromotionDecision;
  report?: string;
}
