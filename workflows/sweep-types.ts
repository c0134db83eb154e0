/**
 * What crosses the Temporal boundary for a sweep now lives in contracts/sweep.ts; re-exported here so
 * existing imports keep working.
 */
export {
  sweepChildExperimentId,
  sweepChildWorkflowId,
  type SweepInput,
  type SweepProgress,
  type SweepResults,
  type SweepStage,
  type SweepVariantInput,
  type SweepVariantProgress,
  type VariantState,
} from '../contracts/sweep';
