/**
 * The activities the `simclr-cpu` workers register: data work (inspect, shard, commit, augment),
 * where pretraining starts, the experiment report and the sweep's bookkeeping and report. Typed by the
 * contract (contracts/activities.ts), so a missing, extra or mistyped activity does not compile.
 */
import type { CpuActivities } from '../contracts/activities';
import { deleteAugmentations, precomputeAugmentationRange, precomputeAugmentations } from './augment';
import {
  commitDataset,
  commitDatasetShards,
  inspectDataset,
  readDatasetManifest,
  shardDataset,
  shardDatasetRange,
} from './dataset';
import { planEmbedding, writeEmbeddingsFile } from './embed';
import { preparePretraining } from './pretrain';
import { writeExperimentReport } from './report';
import { planRetrain, promoteEncoder, recordScheduledRun } from './retrain';
import { findCompletedExperiments, writeSweepReport } from './sweep';

export const cpuActivities: CpuActivities = {
  inspectDataset,
  shardDatasetRange,
  commitDatasetShards,
  precomputeAugmentationRange,
  shardDataset,
  commitDataset,
  readDatasetManifest,
  precomputeAugmentations,
  deleteAugmentations,
  preparePretraining,
  writeExperimentReport,
  findCompletedExperiments,
  writeSweepReport,
  planRetrain,
  promoteEncoder,
  recordScheduledRun,
  planEmbedding,
  writeEmbeddingsFile,
};
