/**
 * The activities the `simclr-gpu` workers register, one at a time per GPU: pretraining epochs,
 * fine-tuning and evaluation. Typed by the contract (contracts/activities.ts).
 */
import type { GpuActivities } from '../contracts/activities';
import { evaluateRepresentation, fineTune, supervisedBaseline } from './evaluate';
import { pretrainEpoch } from './pretrain';
import { embedShard } from './embed';

export const gpuActivities: GpuActivities = {
  pretrainEpoch,
  evaluateRepresentation,
  fineTune,
  supervisedBaseline,
  embedShard,
};
