/**
 * Every activity, and the two sets the workers register: data work (and the sweep's bookkeeping and
 * report) on `simclr-cpu`, training and evaluation on `simclr-gpu`.
 */
import { commitDataset, inspectDataset, readDatasetManifest, shardDataset } from './dataset';
import { deleteAugmentations, precomputeAugmentations } from './augment';
import { preparePretraining, pretrainEpoch } from './pretrain';
import { evaluateRepresentation, fineTune, supervisedBaseline } from './evaluate';
import { writeExperimentReport } from './report';
import { findCompletedExperiments, writeSweepReport } from './sweep';

export {
  commitDataset,
  deleteAugmentations,
  evaluateRepresentation,
  fineTune,
  findCompletedExperiments,
  inspectDataset,
  precomputeAugmentations,
  preparePretraining,
  pretrainEpoch,
  readDatasetManifest,
  shardDataset,
  supervisedBaseline,
  writeExperimentReport,
  writeSweepReport,
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
  findCompletedExperiments,
  writeSweepReport,
};

export const gpuActivities = { pretrainEpoch, evaluateRepresentation, fineTune, supervisedBaseline };
