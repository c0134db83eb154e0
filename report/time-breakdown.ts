/**
 * Where pretraining time went, summed over the epochs of a run: waiting for views, training steps,
 * checkpoint writes, the kNN monitor, metrics I/O and set-up (each pretrainEpoch records its own, see
 * PretrainEpochTime in contracts/pretrain.ts). The report shows it as its own small table, so that a gap
 * between the pipeline's throughput and the isolated step (`npm run bench -- train`) has a visible cause.
 */
import { z } from 'zod';

const seconds = z.number().min(0);

/** The parts of an epoch's time, in the order the report lists them, with their labels. */
export const PRETRAIN_TIME_PARTS = [
  ['stepsSeconds', 'Training steps'],
  ['viewsSeconds', 'Waiting for views'],
  ['checkpointSeconds', 'Checkpoint writes'],
  ['knnSeconds', 'kNN monitor'],
  ['metricsSeconds', 'Metrics I/O'],
  ['setupSeconds', 'Set-up (model build or checkpoint load)'],
] as const;

export const pretrainTimeSchema = z.object({
  setupSeconds: seconds,
  viewsSeconds: seconds,
  stepsSeconds: seconds,
  checkpointSeconds: seconds,
  knnSeconds: seconds,
  metricsSeconds: seconds,
  /** Wall time of the epochs; what the parts leave over is heartbeats and the event loop. */
  totalSeconds: seconds,
  /** Epochs the sums cover (epochs recorded before the breakdown existed are left out). */
  epochs: z.number().int().min(0),
});

export type PretrainTimeBreakdown = z.infer<typeof pretrainTimeSchema>;

type Part = (typeof PRETRAIN_TIME_PARTS)[number][0];

/** The sum over the epochs that recorded a breakdown; undefined when none did. */
export function sumPretrainTime(
  epochs: readonly { seconds: number; time?: Record<Part, number> }[],
): PretrainTimeBreakdown | undefined {
  const timed = epochs.filter((e) => e.time !== undefined);
  if (timed.length === 0) return undefined;
  const sum: PretrainTimeBreakdown = {
    setupSeconds: 0,
    viewsSeconds: 0,
    stepsSeconds: 0,
    checkpointSeconds: 0,
    knnSeconds: 0,
    metricsSeconds: 0,
    totalSeconds: 0,
    epochs: timed.length,
  };
  for (const e of timed) {
    for (const [part] of PRETRAIN_TIME_PARTS) sum[part] += e.time![part];
    sum.totalSeconds += e.seconds;
  }
  return sum;
}

/** The report's "Where pretraining time went" table (empty when the run has no breakdown). */
export function pretrainTimeSection(time: PretrainTimeBreakdown | undefined): string {
  if (!time || time.totalSeconds <= 0) return '';
  const row = (label: string, s: number) =>
    `<tr><td>${label}</td><td class="n">${s.toFixed(1)} s</td>` +
    `<td class="n">${((100 * s) / time.totalSeconds).toFixed(1)} %</td></tr>`;
  const parts = PRETRAIN_TIME_PARTS.map(([part]) => time[part]).reduce((a, b) => a + b, 0);
  const rows = [
    ...PRETRAIN_TIME_PARTS.map(([part, label]) => row(label, time[part])),
    row('Other (heartbeats, event loop)', Math.max(0, time.totalSeconds - parts)),
  ];
  return `
<h3>Where pretraining time went</h3>
<table>
  <thead><tr><th>Part (${time.epochs} epoch${time.epochs === 1 ? '' : 's'})</th><th class="n">Time</th><th class="n">Share</th></tr></thead>
  <tbody>${rows.join('\n')}
  <tr class="total"><td>Total</td><td class="n">${time.totalSeconds.toFixed(1)} s</td><td class="n">100 %</td></tr></tbody>
</table>`;
}
