/**
 * What crosses the Temporal boundary for a sweep: the expanded variants (from config/sweep.ts), the
 * progress the `sweepProgress` query answers, the results, the ids of the child experiments, and the
 * inputs and outputs of the sweep's activities [cpu]. Plain JSON, no secrets.
 */
import type { StoreRef } from './store';
import type { ExperimentConfig } from '../config/schema';
import type { Expectation, ExpectationResult } from '../config/sweep-expectation';

/** One child experiment to run (config/sweep.ts SweepVariant, as it travels). */
export interface SweepVariantInput {
  name: string;
  description?: string;
  /** The knobs that differ between the variants (dotted path → this variant's value). */
  knobs: Record<string, unknown>;
  config: ExperimentConfig;
  /** Variants with the same view stream never pretrain at the same time (each deletes the views it consumed). */
  viewStream: string;
}

export interface SweepInput {
  sweepId: string;
  name: string;
  description?: string;
  /** The sweep file, or 'preset <name>'. */
  source: string;
  maxParallel: number;
  variants: SweepVariantInput[];
  expectations: Expectation[];
  /** The web UI URL of the sweep, for its report (known to the starter, not to the workflow). */
  webUiUrl?: string;
  /** The store of the sweep's data, checked by every activity of it (see ExperimentInput.store). */
  store?: StoreRef;
}

/** pending → running → completed | failed; `skipped` when an earlier run of the sweep completed it. */
export type VariantState = 'pending' | 'running' | 'completed' | 'skipped' | 'failed';

export interface SweepVariantProgress {
  name: string;
  experimentId: string;
  workflowId: string;
  state: VariantState;
  linearTop1?: number;
  knnTop1?: number;
  error?: string;
}

export type SweepStage = 'running' | 'report' | 'done' | 'failed' | 'cancelled';

export interface SweepResults {
  reportKey: string;
  reportHtmlKey: string;
  storeLocation: string;
  expectations: ExpectationResult[];
  variants: SweepVariantProgress[];
}

/** The answer to the sweep workflow's `sweepProgress` query. */
export interface SweepProgress {
  sweepId: string;
  name: string;
  stage: SweepStage;
  maxParallel: number;
  variants: SweepVariantProgress[];
  results?: SweepResults;
  error?: string;
}

/** The workflow id of a variant's child experiment: `<sweepId>/<variant>` (the web UI groups them). */
export function sweepChildWorkflowId(sweepId: string, variant: string): string {
  return `${sweepId}/${variant}`;
}

/**
 * The experiment id of a variant (its folder in the store): `<sweepId>.<variant>`, since an
 * experiment id is one key segment and may not contain '/'.
 */
export function sweepChildExperimentId(sweepId: string, variant: string): string {
  return `${sweepId}.${variant}`;
}

/** The experiments an earlier run of the sweep may have completed, with the config each must match. */
export interface FindCompletedInput {
  experiments: { experimentId: string; config: ExperimentConfig }[];
}

export interface CompletedExperiment {
  experimentId: string;
  linearTop1: number;
  knnTop1: number;
}

export interface WriteSweepReportInput {
  sweepId: string;
  name: string;
  description?: string;
  source: string;
  workflowId: string;
  runId: string;
  webUiUrl?: string;
  maxParallel: number;
  variants: (SweepVariantProgress & { description?: string; knobs: Record<string, unknown> })[];
  expectations: Expectation[];
}

export interface WriteSweepReportOutput {
  reportKey: string;
  reportHtmlKey: string;
  storeLocation: string;
  expectations: ExpectationResult[];
}
