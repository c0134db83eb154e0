/**
 * The data that flows between the CLI, the workflows and the activities now lives in contracts/; this
 * module re-exports what it used to define, so existing imports keep working. New code imports from
 * contracts/.
 */
export { CPU_QUEUE, GPU_QUEUE } from '../contracts/queues';
export { NON_RETRYABLE_ERRORS } from '../contracts/errors';
export type { DatasetManifest, DatasetPlan, ShardResult, Split } from '../contracts/dataset';
export type { PretrainEpochResult, PretrainEpochTime, PretrainHeartbeat } from '../contracts/pretrain';
export type {
  BaselineResults,
  EvaluationResult,
  FineTuneResult,
  RepresentationEval,
  RepresentationSource,
  SupervisedResult,
} from '../contracts/evaluate';
export type {
  ExperimentInput,
  ExperimentProgress,
  ExperimentResults,
  PretrainLoopInput,
  PretrainLoopProgress,
  Stage,
  StageTiming,
} from '../contracts/experiment';
