/**
 * The pretraining history of the epochs an earlier run of an experiment finished, rebuilt from the
 * metric records they wrote (experiments/<id>/metrics/pretrain-*). Why: `simclr resume` starts a new
 * workflow run whose pretrain loop would otherwise begin with an empty history, so the report of a
 * resumed run would count and chart only the epochs after the resume. The records are the durable
 * account of every epoch, whichever run (and attempt) trained it.
 */
import type { MetricRecord } from '../report/metrics';
import { checkpointKey } from '../simclr/checkpoint';
import type { PretrainEpochResult } from '../contracts';
import { checkpointsPrefix } from './training-state';
import { timeFromRecords } from './epoch-time';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The per-step values of `name` in `epoch`, one per step (a step recorded twice keeps its last record). */
function perStep(records: readonly MetricRecord[], epoch: number, name: string): number[] {
  const byStep = new Map<number, number>();
  for (const r of records)
    if (r.name === name && r.epoch === epoch && r.step !== undefined) byStep.set(r.step, r.value);
  return [...byStep.values()];
}

/**
 * One result per epoch in [0, epochs) that recorded its losses, from `records` (sorted by time, as
 * readMetrics returns them): the means over the epoch's recorded steps, its last throughput and kNN
 * figures, the time breakdowns of all its attempts summed. The backend is not recorded ('': the report
 * takes it from the epochs that know it). An epoch without loss records is left out.
 */
export function pretrainHistoryFromMetrics(
  records: readonly MetricRecord[],
  experimentId: string,
  stepsPerEpoch: number,
  epochs: number,
): PretrainEpochResult[] {
  const pretrain = records.filter(
    (r) => r.stage === 'pretrain' && (r.encoder ?? 'pretrained') === 'pretrained',
  );
  const history: PretrainEpochResult[] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    const losses = perStep(pretrain, epoch, 'loss');
    if (losses.length === 0) continue;
    const accuracies = perStep(pretrain, epoch, 'contrastive_acc');
    const last = (name: string) => pretrain.filter((r) => r.epoch === epoch && r.name === name).pop()?.value;
    const time = timeFromRecords(pretrain.filter((r) => r.epoch === epoch));
    const globalStep = (epoch + 1) * stepsPerEpoch;
    history.push({
      epoch,
      globalStep,
      meanLoss: mean(losses),
      meanContrastiveAcc: accuracies.length ? mean(accuracies) : 0,
      checkpoint: checkpointKey(checkpointsPrefix(experimentId), globalStep),
      seconds: time ? Object.values(time).reduce((a, b) => a + b, 0) : 0,
      imagesPerSec: last('images_per_sec') ?? 0,
      knnTop1: last('knn_top1'),
      backend: '',
      time,
    });
  }
  return history;
}
