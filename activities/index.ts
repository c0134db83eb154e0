/**
 * Every activity, and the two sets the workers register: data work on `simclr-cpu`, training and
 * evaluation on `simclr-gpu`.
 */
import { commitDataset, inspectDataset, readDatasetManifest, shardDataset } from './dataset';
import { deleteAugmentations, precomputeAugmentations } from './augment';
import { preparePretraining, pretrainEpoch } from './pretrain';
import { evaluateRepresentation, fineTune, supervisedBaseline } from './evaluate';
import { writeExperimentReport } from './report';

export {
  commitDataset,
  deleteAugmentations,
  evaluateRepresentation,
  fineTune,
  inspectDataset,
  precomputeAugmentations,
  preparePretraining,
  pretrainEpoch,
  readDatasetManifest,
  shardDataset,
  supervisedBaseline,
  writeExperimentReport,
};

export const cpuActivities = {
  inspectDataset,
  shardDataset,
  commitDataset,
  readDatasetManifest,
  precomputeAugmentations,
  deleteAugmentations,
  preparePretraining,
  writeExperimentReport,
};

export const gpuActivities = { pretrainEpoch, evaluateRepresentation, fineTune, supervisedBaseline };
