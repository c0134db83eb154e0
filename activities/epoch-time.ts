/**
 * An epoch's time breakdown (PretrainEpochTime, contracts/pretrain.ts) as metric records, and back:
 * each part is written as pretrain/time_<part>_s by the epoch that measured it, and read back from
 * those records when a resumed run rebuilds its earlier epochs (./pretrain-history.ts).
 */
import type { PretrainEpochTime } from '../contracts/pretrain';
import { metric, type MetricRecord } from '../report/metrics';

/** The metric name of each part, in the order the records are written. */
export const TIME_METRIC_NAMES: Readonly<Record<keyof PretrainEpochTime, string>> = {
  setupSeconds: 'time_setup_s',
  viewsSeconds: 'time_views_s',
  stepsSeconds: 'time_steps_s',
  checkpointSeconds: 'time_checkpoint_s',
  knnSeconds: 'time_knn_s',
  metricsSeconds: 'time_metrics_s',
};

const PARTS = Object.keys(TIME_METRIC_NAMES) as (keyof PretrainEpochTime)[];

/** Every part at 0, with `setupSeconds` already measured. */
export function epochTime(setupSeconds = 0): PretrainEpochTime {
  const time = Object.fromEntries(PARTS.map((p) => [p, 0])) as unknown as PretrainEpochTime;
  time.setupSeconds = setupSeconds;
  return time;
}

/** The epoch's time breakdown as metric records: pretrain/time_<part>_s (seconds). */
export function timeRecords(time: PretrainEpochTime, at: { epoch: number; step: number }): MetricRecord[] {
  return PARTS.map((p) => metric('pretrain', TIME_METRIC_NAMES[p], time[p], at));
}

/** The time breakdown summed from an epoch's time records; undefined when it recorded none. */
export function timeFromRecords(records: readonly MetricRecord[]): PretrainEpochTime | undefined {
  let time: PretrainEpochTime | undefined;
  for (const r of records) {
    const part = PARTS.find((p) => TIME_METRIC_NAMES[p] === r.name);
    if (!part) continue;
    time ??= epochTime();
    time[part] += r.value;
  }
  return time;
}
