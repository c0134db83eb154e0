/**
 * The activities of each task queue, as signatures. The workers register exactly these sets
 * (activities/cpu.ts, activities/gpu.ts implement them) and the workflows' proxies are typed by them
 * (workflows/activity-proxies.ts), so an activity called through the wrong queue's proxy does not
 * compile: `cpu.pretrainEpoch(...)` is a type error. The names are the activity types in workflow
 * histories: renaming one breaks the replay of recorded runs.
 */
import type {
  DeleteAugmentationsInput,
  PrecomputeInput,
  PrecomputeRangeInput,
  PrecomputeRangeResult,
  PrecomputeResult,
} from './augment';
import type {
  CommitDatasetInput,
  CommitShardsInput,
  DatasetManifest,
  DatasetPlan,
  DatasetRef,
  InspectDatasetInput,
  ReadDatasetManifestInput,
  ShardDatasetInput,
  ShardRangeInput,
  ShardRangeResult,
  ShardResult,
} from './dataset';
import type {
  EmbedPlan,
  EmbedShardInput,
  EmbedShardResult,
  PlanEmbeddingInput,
  WriteEmbeddingsInput,
  WriteEmbeddingsOutput,
} from './embed';
import type {
  EvalInput,
  ExperimentRef,
  FineTuneInput,
  FineTuneResult,
  RepresentationEval,
  SupervisedResult,
} from './evaluate';
import type { PrepareInput, PrepareResult, PretrainEpochInput, PretrainEpochResult } from './pretrain';
import type { WriteReportInput, WriteReportOutput } from './report';
import type {
  PlanRetrainInput,
  PromoteEncoderInput,
  PromotionDecision,
  RetrainPlan,
  ScheduledRunRecord,
} from './retrain';
import type {
  CompletedExperiment,
  FindCompletedInput,
  WriteSweepReportInput,
  WriteSweepReportOutput,
} from './sweep';

/** `simclr-cpu`: dataset, augmentation, pretraining bookkeeping, reports, the sweep's work. */
export interface CpuActivities {
  inspectDataset(input: InspectDatasetInput): Promise<DatasetPlan>;
  /** A range of shards of one split (the experiment's bounded fan-out; results are counts). */
  shardDatasetRange(input: ShardRangeInput): Promise<ShardRangeResult>;
  /** Builds the manifest from the shards' markers in the store; returns a reference, not the manifest. */
  commitDatasetShards(input: CommitShardsInput): Promise<DatasetRef>;
  /** One epoch's views of a range of shards (the pretrain loop's bounded fan-out). */
  precomputeAugmentationRange(input: PrecomputeRangeInput): Promise<PrecomputeRangeResult>;
  /**
   * One shard, the manifest and one (epoch, shard): what runs started before the bounded fan-out
   * (BOUNDED_HISTORY_PATCH) schedule; kept so that their in-flight histories still run to the end.
   */
  shardDataset(input: ShardDatasetInput): Promise<ShardResult>;
  commitDataset(input: CommitDatasetInput): Promise<DatasetManifest>;
  readDatasetManifest(input: ReadDatasetManifestInput): Promise<DatasetManifest>;
  precomputeAugmentations(input: PrecomputeInput): Promise<PrecomputeResult>;
  /** Returns how many objects were deleted. */
  deleteAugmentations(input: DeleteAugmentationsInput): Promise<number>;
  preparePretraining(input: PrepareInput): Promise<PrepareResult>;
  writeExperimentReport(input: WriteReportInput): Promise<WriteReportOutput>;
  findCompletedExperiments(input: FindCompletedInput): Promise<CompletedExperiment[]>;
  writeSweepReport(input: WriteSweepReportInput): Promise<WriteSweepReportOutput>;
  /** Scheduled retraining: skip or train, with the run's lineage (activities/retrain.ts). */
  planRetrain(input: PlanRetrainInput): Promise<RetrainPlan>;
  promoteEncoder(input: PromoteEncoderInput): Promise<PromotionDecision>;
  recordScheduledRun(input: ScheduledRunRecord): Promise<void>;
  /** `simclr embed`: resolve the model and plan the source's shards; write the one file from the parts. */
  planEmbedding(input: PlanEmbeddingInput): Promise<EmbedPlan>;
  writeEmbeddingsFile(input: WriteEmbeddingsInput): Promise<WriteEmbeddingsOutput>;
}

/** `simclr-gpu`: pretraining epochs, fine-tuning and evaluation (one at a time per GPU). */
export interface GpuActivities {
  pretrainEpoch(input: PretrainEpochInput): Promise<PretrainEpochResult>;
  evaluateRepresentation(input: EvalInput): Promise<RepresentationEval>;
  fineTune(input: FineTuneInput): Promise<FineTuneResult>;
  supervisedBaseline(input: ExperimentRef): Promise<SupervisedResult>;
  /** `simclr embed`: one dataset shard through the encoder, into one part in the store. */
  embedShard(input: EmbedShardInput): Promise<EmbedShardResult>;
}
