/**
 * Every activity, and the two sets the workers register: data work (and the sweep's and the schedule's
 * bookkeeping and reports) on `simclr-cpu` (./cpu.ts), training and evaluation on `simclr-gpu` (./gpu.ts).
 */
export {
  commitDataset,
  commitDatasetShards,
  inspectDataset,
  readDatasetManifest,
  shardDataset,
  shardDatasetRange,
} from './dataset';
export { deleteAugmentations, precomputeAugmentationRange, precomputeAugmentations } from './augment';
export { preparePretraining, pretrainEpoch } from './pretrain';
export { evaluateRepresentation, fineTune, supervisedBaseline } from './evaluate';
export { writeExperimentReport } from './report';
export { findCompletedExperiments, writeSweepReport } from './sweep';
export { planRetrain, promoteEncoder, recordScheduledRun } from './retrain';
export { embedShard, planEmbedding, writeEmbeddingsFile } from './embed';
export { cpuActivities } from './cpu';
export { gpuActivities } from './gpu';
