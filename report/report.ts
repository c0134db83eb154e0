/**
 * The run report of one experiment: what ran (config, dataset, backend), how long each stage took,
 * and what the representation is worth (linear eval, kNN, fine-tuning per label fraction, against a
 * random-init encoder of the same architecture). `writeReport` stores it as report.json, a
 * self-contained report.html with its charts, the merged metrics.jsonl and charts/*.png.
 *
 * Usage (in the report activity):
 * ```ts
 * const keys = await writeReport(store, experimentId, report); // metrics read from the store's chunks
 * ```
 */
import { z } from 'zod';
import { lineageReportSchema } from './lineage';
import { experimentSchema } from '../config/schema';
import type { BlobStore } from '../storage/blob-store';
import { renderReportCharts } from './charts';
import { renderReportHtml } from './html';
import { renderRepresentationSection, type RepresentationView } from './representation-html';
import { experimentKey, reportKeys } from './keys';
import { readMetrics, writeMetricsJsonl, type MetricRecord } from './metrics';
import { pretrainTimeSchema } from './time-breakdown';

const isoTime = z.iso.datetime({ offset: true });
const count = z.number().int().min(0);
/** Accuracies are fractions in [0, 1]; the HTML and charts show them as percentages. */
const accuracy = z.number().min(0).max(1);

export const accuracySchema = z.object({ top1: accuracy, top5: accuracy });

const splitStatsSchema = z.object({ count, perClass: z.array(count) });

/**
 * What the dataset turned out to be. A DatasetManifest (contracts/dataset.ts) parses as-is: extra fields
 * (shard keys, createdAt) are dropped.
 */
export const datasetStatsSchema = z
  .object({
    datasetId: z.string().min(1),
    source: z.string(),
    format: z.string(),
    imageSize: z.number().int().positive(),
    channels: z.union([z.literal(1), z.literal(3)]),
    classNames: z.array(z.string()),
    splits: z.object({ train: splitStatsSchema, test: splitStatsSchema }),
    labelFractions: z.array(z.object({ fraction: z.number().gt(0).max(1), count })).default([]),
    /** Source files that could not be used, and why (corrupt, unsupported format, ...). */
    skipped: z.array(z.object({ file: z.string(), reason: z.string() })).default([]),
  })
  .refine(
    (d) =>
      [d.splits.train, d.splits.test].every(
        (s) => s.perClass.length === 0 || s.perClass.length === d.classNames.length,
      ),
    { message: 'splits.*.perClass must have one count per class name', path: ['splits'] },
  );

/** The TensorFlow.js backend that trained the model (simclr/backend.ts BackendInfo, plus the device). */
export const backendSchema = z.object({
  name: z.string().min(1),
  requested: z.string().optional(),
  provider: z.string().optional(),
  fallbackReason: z.string().optional(),
  /** e.g. 'NVIDIA H200' or 'CPU (16 cores)'. */
  device: z.string().optional(),
});

/** One stage of the experiment workflow; a stage still running has no end yet. */
export const stageTimingSchema = z.object({
  stage: z.string().min(1),
  startedAt: isoTime,
  endedAt: isoTime.optional(),
  seconds: z.number().min(0).optional(),
});

export const pretrainSummarySchema = z.object({
  epochs: count,
  steps: count,
  finalLoss: z.number().optional(),
  imagesPerSec: z.number().min(0).optional(),
  /** Total time the pretrain loop waited for augmentations to be precomputed. */
  augmentationWaitMs: z.number().min(0).optional(),
  /** Where the epochs' time went (./time-breakdown.ts). */
  timeBreakdown: pretrainTimeSchema.optional(),
});

const fineTuneResultSchema = accuracySchema.extend({
  fraction: z.number().gt(0).max(1),
  labelledImages: count.optional(),
});

export const resultsSchema = z.object({
  /** Linear classifier on frozen features, all training labels ([SimCLR] Sec. 2.3 linear evaluation protocol). */
  linear: accuracySchema,
  /** Weighted kNN monitor on frozen features (Wu et al. 2018). */
  knn: accuracySchema.extend({ k: z.number().int().positive().optional() }),
  /** Fine-tuning the encoder on a class-balanced fraction of the labels ([SimCLR] Sec. 6). */
  fineTune: z.array(fineTuneResultSchema).default([]),
  /** The same evaluations of a randomly initialised encoder of the same architecture. */
  baseline: z.object({ linear: accuracySchema, knn: accuracySchema }).optional(),
  /** The other baselines (config evaluation.baselines); each is absent when it did not run. */
  baselines: z
    .object({
      /** Linear evaluation and kNN on the raw pixels (flattened, in [0, 1]), same protocols. */
      pixels: z.object({ linear: accuracySchema, knn: accuracySchema }).optional(),
      /** The encoder trained from random init on every training label for `epochs` (pretrain.epochs). */
      supervised: accuracySchema
        .extend({ epochs: z.number().int().positive(), labelledImages: count.optional() })
        .optional(),
      /** Training from scratch on each label fraction, with the fine-tuning settings. */
      scratchFineTune: z.array(fineTuneResultSchema).optional(),
    })
    .optional(),
});

export const RUN_STATUSES = ['completed', 'failed', 'cancelled', 'running'] as const;

export const runReportSchema = z.object({
  experimentId: z.string().min(1),
  status: z.enum(RUN_STATUSES),
  startedAt: isoTime,
  finishedAt: isoTime.optional(),
  /** When this report was written. */
  generatedAt: isoTime.optional(),
  workflowId: z.string().min(1),
  runId: z.string().min(1),
  /** The Temporal web UI page of this run (http or https). */
  webUiUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** The store holding the artifacts, e.g. file:///var/lib/simclr (never credentials). */
  storeLocation: z.string().optional(),
  /** Why the run failed, for a failed or cancelled run. */
  error: z.string().optional(),
  config: experimentSchema,
  dataset: datasetStatsSchema,
  backend: backendSchema,
  timings: z.array(stageTimingSchema),
  pretrain: pretrainSummarySchema.optional(),
  /** Absent while running or when the run failed before evaluation. */
  results: resultsSchema.optional(),
  /** A run of a schedule: where it came from, its comparison with the parent run, its promotion. */
  lineage: lineageReportSchema.optional(),
});

export type RunReport = z.infer<typeof runReportSchema>;
export type RunReportInput = z.input<typeof runReportSchema>;
export type DatasetStats = RunReport['dataset'];
export type RunResults = z.infer<typeof resultsSchema>;

/** Parses a report (e.g. report.json), with an error that names the bad fields. */
export function parseRunReport(json: unknown, source = 'run report'): RunReport {
  const parsed = runReportSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${source} is invalid: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export interface ReportKeys {
  reportJson: string;
  reportHtml: string;
  metricsJsonl: string;
  charts: string[];
}

/**
 * Writes experiments/<id>/charts/*.png, metrics.jsonl, report.html and report.json (in that order: the
 * data first, report.json last, so a report.json that exists has everything it refers to). `metrics`
 * defaults to the chunks already in the store; `extras.representation` adds the section that shows the
 * representation (./representation-html.ts). Idempotent: a second call rewrites the same keys.
 */
export async function writeReport(
  store: BlobStore,
  experimentId: string,
  input: RunReportInput,
  metrics?: readonly MetricRecord[],
  extras: { representation?: RepresentationView } = {},
): Promise<ReportKeys> {
  const report = parseRunReport(input, `run report of experiment '${experimentId}'`);
  if (report.experimentId !== experimentId) {
    throw new Error(`run report is of experiment '${report.experimentId}', not '${experimentId}'`);
  }
  const keys = reportKeys(experimentId);
  const records = metrics ? [...metrics] : await readMetrics(store, experimentId);

  const charts = await renderReportCharts(report, records);
  const representation = extras.representation && (await renderRepresentationSection(extras.representation));
  const chartKeys: string[] = [];
  for (const chart of [...charts, ...(representation?.charts ?? [])]) {
    const key = experimentKey(experimentId, 'charts', `${chart.name}.png`);
    await store.put(key, chart.png);
    chartKeys.push(key);
  }
  await writeMetricsJsonl(store, experimentId, records);
  await store.put(
    keys.reportHtml,
    renderReportHtml(report, charts, representation ? [representation.html] : []),
  );
  await store.put(keys.reportJson, JSON.stringify(report, null, 2) + '\n');
  return {
    reportJson: keys.reportJson,
    reportHtml: keys.reportHtml,
    metricsJsonl: keys.metricsJsonl,
    charts: chartKeys,
  };
}
