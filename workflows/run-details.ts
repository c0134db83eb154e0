/**
 * The text of a run's current details in the web UI (markdown): where the run is, and for pretraining
 * the epoch, global step, loss, throughput, ETA and kNN monitor. Refreshed once per finished epoch:
 * workflow code sees epoch results, not heartbeats (the running epoch's step-level progress is in its
 * pending activity's heartbeat details, which the UI shows under "Pending Activities").
 * Pure functions of their inputs, so deterministic in workflow code.
 */
import type { PretrainEpochResult } from '../contracts';
import { fixed, percent } from './activity-results';

/** Pretraining's position after a finished epoch, as the details show it. */
export interface PretrainDetails {
  epochs: number;
  stepsPerEpoch: number;
  batchSize: number;
  history: PretrainEpochResult[];
}

/** "3m 20s", "1h 05m", "12s": a duration for people. */
export function humanSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const r = Math.round(s);
  if (r < 60) return `${r}s`;
  if (r < 3600) return `${Math.floor(r / 60)}m ${String(r % 60).padStart(2, '0')}s`;
  return `${Math.floor(r / 3600)}h ${String(Math.floor((r % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * Training throughput in augmented views per second (two views per image: the paper's 2N batch), from
 * the epoch's measured image rate; from its wall time when an older result has none.
 */
export function viewsPerSecond(
  result: PretrainEpochResult,
  stepsPerEpoch: number,
  batchSize: number,
): number {
  if (result.imagesPerSec > 0) return 2 * result.imagesPerSec;
  return result.seconds > 0 ? (2 * batchSize * stepsPerEpoch) / result.seconds : 0;
}

/** Mean wall seconds of the timed epochs (undefined before the first): the basis of the ETA. */
export function meanEpochSeconds(history: PretrainEpochResult[]): number | undefined {
  const timed = history.filter((h) => h.seconds > 0);
  return timed.length ? timed.reduce((a, h) => a + h.seconds, 0) / timed.length : undefined;
}

const SPARKS = '▁▂▃▄▅▆▇█';

/** The mean loss of the last `n` epochs as a sparkline, oldest first ('' for fewer than two). */
export function lossTrend(history: PretrainEpochResult[], n = 8): string {
  const losses = history.slice(-n).map((h) => h.meanLoss);
  if (losses.length < 2) return '';
  const lo = Math.min(...losses);
  const span = Math.max(...losses) - lo;
  return losses
    .map((l) => SPARKS[span > 0 ? Math.round(((l - lo) / span) * (SPARKS.length - 1)) : 0])
    .join('');
}

/** "epoch 7/15 · step 420 · loss 5.1234 ▇▅▃▂ · 1520 views/s · ETA 3m 20s · kNN top-1 41.0 %" */
export function pretrainLine(p: PretrainDetails): string {
  const last = p.history[p.history.length - 1];
  if (!last) return `epoch 0/${p.epochs}`;
  const done = last.epoch + 1;
  const meanSeconds = meanEpochSeconds(p.history) ?? 0;
  const knn = p.history.filter((h) => h.knnTop1 !== undefined).pop()?.knnTop1;
  const trend = lossTrend(p.history);
  return [
    `epoch ${done}/${p.epochs}`,
    `step ${last.globalStep}`,
    `loss ${fixed(last.meanLoss, 4)}${trend ? ` ${trend}` : ''}`,
    `${Math.round(viewsPerSecond(last, p.stepsPerEpoch, p.batchSize))} views/s`,
    `ETA ${humanSeconds((p.epochs - done) * meanSeconds)}`,
    ...(knn !== undefined ? [`kNN top-1 ${percent(knn)}`] : []),
  ].join(' · ');
}

/** The whole current-details text of an experiment or its pretrain loop. */
export function detailsText(experimentId: string, stage: string, lines: (string | undefined)[]): string {
  return [`**${experimentId}** — stage: ${stage}`, ...lines.filter(Boolean)].join('\n\n');
}
