/**
 * The sweep report: one row per variant (the knobs that differ, linear and kNN top-1, fine-tune top-1
 * per label fraction, final loss, wall time) built from each child's run report, the paper's expected
 * directions checked against those numbers, and the charts. Written as sweeps/<id>/charts/*.png,
 * report.html, then report.json last (storage/layout.ts), so a report.json that exists is complete.
 *
 * ```ts
 * const report = buildSweepReport(meta, variants.map((v) => ({ ...v, run: childRunReport })));
 * await writeSweepReport(store, report, lossCurves);
 * ```
 */
import { z } from 'zod';
import { checkExpectation, EXPECTATION_METRICS } from '../config/sweep-expectation';
import type { BlobStore } from '../storage/blob-store';
import { sweepKeys } from '../storage/layout';
import { renderCharts, type Chart } from './charts';
import { reportKeys } from './keys';
import type { RunReport } from './report';
import { sweepChartSpecs, type LossCurve } from './sweep-charts';
import { renderSweepHtml } from './sweep-html';

const accuracy = z.number().min(0).max(1);

export const sweepRowSchema = z.object({
  variant: z.string().min(1),
  description: z.string().optional(),
  experimentId: z.string().min(1),
  workflowId: z.string().min(1),
  state: z.enum(['pending', 'running', 'completed', 'skipped', 'failed']),
  /** Dotted path → value, for the knobs that differ between the variants. */
  knobs: z.record(z.string(), z.unknown()),
  linearTop1: accuracy.optional(),
  knnTop1: accuracy.optional(),
  fineTune: z.array(z.object({ fraction: z.number().gt(0).max(1), top1: accuracy })).default([]),
  finalLoss: z.number().optional(),
  epochs: z.number().int().min(0).optional(),
  /** The child experiment's wall time, start of its first stage to its report. */
  wallSeconds: z.number().min(0).optional(),
  /** The child's own report.html in the store. */
  reportHtmlKey: z.string().optional(),
  error: z.string().optional(),
});

const comparisonSchema = z.object({
  better: z.string(),
  worse: z.string(),
  difference: z.number().optional(),
  holds: z.boolean().optional(),
});

export const expectationResultSchema = z.object({
  metric: z.enum(EXPECTATION_METRICS),
  holds: z.string(),
  source: z.string().optional(),
  note: z.string().optional(),
  verdict: z.enum(['matches', 'does not match', 'incomplete']),
  comparisons: z.array(comparisonSchema),
});

export const sweepReportSchema = z.object({
  sweepId: z.string().min(1),
  name: z.string().min(1),
  description: z.string().optional(),
  source: z.string(),
  generatedAt: z.iso.datetime({ offset: true }),
  workflowId: z.string().min(1),
  runId: z.string().min(1),
  webUiUrl: z.url({ protocol: /^https?$/ }).optional(),
  storeLocation: z.string().optional(),
  maxParallel: z.number().int().positive(),
  /** The knob columns of the table, in order. */
  knobs: z.array(z.string()),
  rows: z.array(sweepRowSchema),
  expectations: z.array(expectationResultSchema),
});

export type SweepReport = z.infer<typeof sweepReportSchema>;
export type SweepRow = z.infer<typeof sweepRowSchema>;

/** A variant as the sweep workflow hands it over, with its child's run report when there is one. */
export interface SweepVariantOutcome {
  name: string;
  description?: string;
  experimentId: string;
  workflowId: string;
  state: SweepRow['state'];
  knobs: Record<string, unknown>;
  error?: string;
  run?: RunReport;
}

export type SweepReportMeta = Omit<SweepReport, 'knobs' | 'rows' | 'expectations' | 'generatedAt'> & {
  expectations: Parameters<typeof checkExpectation>[0][];
  generatedAt?: string;
};

/** One row of the table from a variant and its run report (numbers absent when it did not complete). */
export function sweepRow(v: SweepVariantOutcome): SweepRow {
  const run = v.run;
  const results = run?.results;
  const wall =
    run?.finishedAt !== undefined
      ? (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000
      : undefined;
  return {
    variant: v.name,
    ...(v.description ? { description: v.description } : {}),
    experimentId: v.experimentId,
    workflowId: v.workflowId,
    state: v.state,
    knobs: v.knobs,
    linearTop1: results?.linear.top1,
    knnTop1: results?.knn.top1,
    fineTune: (results?.fineTune ?? [])
      .map((f) => ({ fraction: f.fraction, top1: f.top1 }))
      .sort((a, b) => a.fraction - b.fraction),
    finalLoss: run?.pretrain?.finalLoss,
    epochs: run?.pretrain?.epochs,
    wallSeconds: wall,
    reportHtmlKey: run ? reportKeys(v.experimentId).reportHtml : undefined,
    ...(v.error ? { error: v.error } : {}),
  };
}

/** The report: rows, knob columns and every expectation checked against the rows' numbers. */
export function buildSweepReport(meta: SweepReportMeta, variants: SweepVariantOutcome[]): SweepReport {
  const rows = variants.map(sweepRow);
  const knobs = [...new Set(variants.flatMap((v) => Object.keys(v.knobs)))];
  const byVariant = Object.fromEntries(
    rows.map((r) => [r.variant, { linearTop1: r.linearTop1, knnTop1: r.knnTop1 }]),
  );
  return sweepReportSchema.parse({
    ...meta,
    generatedAt: meta.generatedAt ?? new Date().toISOString(),
    knobs,
    rows,
    expectations: meta.expectations.map((e) => checkExpectation(e, byVariant)),
  });
}

/** Writes the charts, report.html and report.json (last) of the sweep; idempotent. */
export async function writeSweepReport(
  store: BlobStore,
  report: SweepReport,
  lossCurves: LossCurve[],
): Promise<{ reportJson: string; reportHtml: string; charts: string[] }> {
  const keys = sweepKeys(report.sweepId);
  const charts: Chart[] = await renderCharts(sweepChartSpecs(report, lossCurves));
  for (const c of charts) await store.put(keys.chart(c.name), c.png);
  await store.put(keys.reportHtml, renderSweepHtml(report, charts));
  await store.put(keys.reportJson, JSON.stringify(report, null, 2) + '\n');
  return {
    reportJson: keys.reportJson,
    reportHtml: keys.reportHtml,
    charts: charts.map((c) => keys.chart(c.name)),
  };
}
