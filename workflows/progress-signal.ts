/**
 * The pretrain loop tells its experiment about every finished epoch, so the experiment's own current
 * details (what the web UI shows on the run a user opens) carry epoch, loss, throughput, ETA and kNN,
 * not only "stage: pretrain". A signal is a command: runs that started before it replay without it.
 */
import { defineSignal } from '@temporalio/workflow';
import type { PretrainEpochResult } from '../contracts';

/** The patch id from which the loop signals its epochs and the experiment upserts its web UI metadata. */
export const WEB_UI_PATCH = 'web-ui-progress';

export interface EpochDone {
  result: PretrainEpochResult;
  epochs: number;
  stepsPerEpoch: number;
  batchSize: number;
}

export const epochDoneSignal = defineSignal<[EpochDone]>('epochDone');
