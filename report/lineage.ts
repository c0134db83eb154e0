/**
 * The "Lineage" of a run of a schedule, for its report: where it came from (schedule, trigger, parent
 * run, dataset, config hash, code version, warm start), how its results compare with the parent run's
 * (better or worse, by how many points), and whether its encoder was promoted to the schedule's current
 * model. The schemas validate what report.json stores; the comparison is computed when the report is
 * written, from the parent's report.json.
 */
import { z } from 'zod';

export const lineageSchema = z.object({
  schedule: z.string().min(1),
  trigger: z.enum(['schedule', 'manual']),
  parentRun: z.string().optional(),
  datasetId: z.string().min(1),
  configHash: z.string().min(1),
  codeVersion: z.string().min(1),
  warmStartFrom: z.string().optional(),
});

const currentModelSchema = z.object({
  experimentId: z.string(),
  checkpoint: z.string(),
  linearTop1: z.number(),
  promotedAt: z.string(),
});

export const promotionSchema = z.object({
  schedule: z.string(),
  experimentId: z.string(),
  promoted: z.boolean(),
  reason: z.string(),
  linearTop1: z.number(),
  previous: currentModelSchema.optional(),
  deltaPoints: z.number().optional(),
  tolerancePoints: z.number(),
  checkpoint: z.string(),
  decidedAt: z.string(),
});

/** One result of this run beside the parent run's; `deltaPoints` is this minus parent, in percentage points. */
export const comparisonRowSchema = z.object({
  metric: z.string(),
  current: z.number(),
  parent: z.number(),
  deltaPoints: z.number(),
  /** Higher accuracy is better; for the loss, lower is (its delta is in loss units, not points). */
  verdict: z.enum(['better', 'worse', 'same']),
});

export const lineageReportSchema = lineageSchema.extend({
  promotion: promotionSchema.optional(),
  /** Absent for the schedule's first run, or when the parent's report is gone. */
  comparison: z.array(comparisonRowSchema).optional(),
});

export type LineageReport = z.infer<typeof lineageReportSchema>;
export type ComparisonRow = z.infer<typeof comparisonRowSchema>;

/** What the comparison reads of a run (the run report's results and final loss). */
export interface ComparedRun {
  linear: { top1: number };
  knn: { top1: number };
  fineTune: { fraction: number; top1: number }[];
  finalLoss?: number;
}

/** Differences under half a hundredth of a point read as "same" (the numbers are shown to two decimals). */
const SAME_POINTS = 0.005;

function row(
  metric: string,
  current: number,
  parent: number,
  higherIsBetter = true,
  scale = 100,
): ComparisonRow {
  const deltaPoints = (current - parent) * scale;
  const gain = higherIsBetter ? deltaPoints : -deltaPoints;
  const verdict = Math.abs(deltaPoints) < SAME_POINTS ? 'same' : gain > 0 ? 'better' : 'worse';
  return { metric, current, parent, deltaPoints, verdict };
}

/** This run's results against its parent's: linear top-1, kNN top-1, fine-tuning per label fraction, final loss. */
export function compareRuns(current: ComparedRun, parent: ComparedRun): ComparisonRow[] {
  const rows = [
    row('linear evaluation top-1', current.linear.top1, parent.linear.top1),
    row('kNN top-1', current.knn.top1, parent.knn.top1),
  ];
  for (const f of current.fineTune) {
    const p = parent.fineTune.find((x) => x.fraction === f.fraction);
    if (p) rows.push(row(`fine-tune on ${f.fraction * 100} % labels top-1`, f.top1, p.top1));
  }
  if (current.finalLoss !== undefined && parent.finalLoss !== undefined)
    rows.push(row('final pretraining loss', current.finalLoss, parent.finalLoss, false, 1));
  return rows;
}

/** '+1.25 points better', '−0.40 points worse', 'the same'. */
export function describeDelta(r: ComparisonRow): string {
  if (r.verdict === 'same') return 'the same';
  const unit = r.metric.includes('loss') ? '' : ' points';
  return `${r.deltaPoints >= 0 ? '+' : '−'}${Math.abs(r.deltaPoints).toFixed(2)}${unit} ${r.verdict}`;
}
