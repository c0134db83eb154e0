/**
 * Metric records: one JSON object per line, the same shape in the per-activity chunks and in the
 * merged experiments/<id>/metrics.jsonl.
 *
 * ```json
 * {"time":"2025-01-01T12:00:00.000Z","stage":"pretrain","epoch":3,"step":1200,"name":"loss","value":5.21}
 * {"time":"2025-01-01T12:00:09.000Z","stage":"knn","epoch":3,"name":"knn_top1","value":0.612}
 * {"time":"2025-01-01T13:00:00.000Z","stage":"finetune","fraction":0.1,"epoch":4,"name":"loss","value":0.61}
 * ```
 *
 * A BlobStore has no append, and activities are retried, so each activity call writes its records
 * as one chunk whose name comes from its inputs (`pretrain-000000003` for epoch 3): a retry rewrites
 * the same chunk instead of adding duplicates, and a reader never sees half a chunk (puts are atomic).
 * `readMetrics` merges all chunks sorted by time; `writeMetricsJsonl` writes the merged file.
 */
import { z } from 'zod';
import type { BlobStore } from '../storage/blob-store';
import { experimentKey, reportKeys } from './keys';

/** The pipeline stages a metric can come from. */
export const METRIC_STAGES = [
  'shard',
  'augment',
  'pretrain',
  'finetune',
  'linear',
  'knn',
  /** The supervised upper bound (the encoder trained from random init on every label). */
  'supervised',
] as const;
export type MetricStage = (typeof METRIC_STAGES)[number];

/**
 * Names the charts and TensorBoard know (others are kept and exported too): `loss` (NT-Xent during
 * pretraining, cross-entropy in fine-tuning and linear eval), `lr`, `contrastive_acc` (how often the
 * positive is the most similar of the 2N-1 candidates), `knn_top1` / `knn_top5`, `top1` / `top5`,
 * `images_per_sec`, `aug_wait_ms` (time the pretrain loop waited for precomputed views), `step_ms_median`
 * (an epoch's median training-step time, the statistic of `npm run bench -- train`).
 */
export const METRIC_NAMES = [
  'loss',
  'lr',
  'contrastive_acc',
  'knn_top1',
  'knn_top5',
  'top1',
  'top5',
  'images_per_sec',
  'aug_wait_ms',
  'step_ms_median',
] as const;

export const metricRecordSchema = z
  .object({
    /** When the value was measured (ISO 8601). */
    time: z.iso.datetime({ offset: true }),
    stage: z.enum(METRIC_STAGES),
    /** 0-based epoch of the stage. */
    epoch: z.number().int().min(0).optional(),
    /** Global optimisation step of the stage (pretraining: across epochs). */
    step: z.number().int().min(0).optional(),
    /** Label fraction of a fine-tuning run (its records are otherwise indistinguishable). */
    fraction: z.number().gt(0).max(1).optional(),
    /**
     * What was evaluated or trained: the SimCLR encoder (default), the same architecture from random
     * init (the random-init baseline, training from scratch, the supervised bound) or the raw pixels.
     */
    encoder: z.enum(['pretrained', 'random-init', 'pixels']).optional(),
    name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'lower-case letters, digits and "_", starting with a letter'),
    /** Finite number (JSON has no NaN or Infinity; a diverged loss is reported by the activity's error). */
    value: z.number(),
  })
  .strict();

export type MetricRecord = z.infer<typeof metricRecordSchema>;

/** A record measured now: metric('pretrain', 'loss', 5.2, { epoch: 0, step: 10 }). */
export function metric(
  stage: MetricStage,
  name: string,
  value: number,
  at: Omit<MetricRecord, 'time' | 'stage' | 'name' | 'value'> & { time?: string } = {},
): MetricRecord {
  const { time, ...rest } = at;
  return { time: time ?? new Date().toISOString(), stage, ...rest, name, value };
}

/**
 * The chunk name of one activity call's records, derived from its inputs so that a retry rewrites it:
 * metricsChunk('pretrain', 3) = 'pretrain-000000003'; metricsChunk('finetune', 0, '0.1') = 'finetune-0.1-000000000'.
 */
export function metricsChunk(stage: MetricStage, seq: number, qualifier?: string): string {
  if (!Number.isInteger(seq) || seq < 0)
    throw new Error(`metrics chunk sequence must be an integer >= 0, got ${seq}`);
  const q = qualifier === undefined ? '' : `${qualifier}-`;
  return `${stage}-${q}${String(seq).padStart(9, '0')}`;
}

const CHUNK_NAME = /^[a-z0-9][a-z0-9._-]{0,200}$/;

function validateRecords(records: readonly unknown[], where: string): MetricRecord[] {
  return records.map((r, i) => {
    const parsed = metricRecordSchema.safeParse(r);
    if (!parsed.success)
      throw new Error(`${where}, record ${i}: invalid metric record: ${z.prettifyError(parsed.error)}`);
    return parsed.data;
  });
}

/** Serialises records as JSON lines (a trailing newline after each). */
export function toJsonl(records: readonly MetricRecord[]): string {
  return records.map((r) => JSON.stringify(r) + '\n').join('');
}

/** Parses JSON lines of metric records; `source` names the file in errors. Blank lines are ignored. */
export function parseMetricsJsonl(text: string, source: string): MetricRecord[] {
  const out: MetricRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      throw new Error(`${source}, line ${i + 1}: not JSON (${(err as Error).message})`);
    }
    const parsed = metricRecordSchema.safeParse(json);
    if (!parsed.success)
      throw new Error(`${source}, line ${i + 1}: invalid metric record: ${z.prettifyError(parsed.error)}`);
    out.push(parsed.data);
  });
  return out;
}

/**
 * Writes one chunk of records to experiments/<id>/metrics/<chunk>.jsonl, replacing an earlier chunk of
 * the same name (the retry of the same activity call). Returns the key.
 */
export async function appendMetrics(
  store: BlobStore,
  experimentId: string,
  chunk: string,
  records: readonly MetricRecord[],
): Promise<string> {
  if (!CHUNK_NAME.test(chunk)) {
    throw new Error(`metrics chunk name '${chunk}' must match ${CHUNK_NAME} (use metricsChunk(stage, seq))`);
  }
  const key = experimentKey(experimentId, 'metrics', `${chunk}.jsonl`);
  const valid = validateRecords(records, `metrics chunk ${key}`);
  await store.put(key, toJsonl(valid));
  return key;
}

/**
 * Every metric record of the experiment, from all chunks, sorted by time (records with the same time
 * keep their chunk order and their order within the chunk).
 */
export async function readMetrics(store: BlobStore, experimentId: string): Promise<MetricRecord[]> {
  const prefix = reportKeys(experimentId).metricsChunks;
  const chunks = (await store.list(prefix)).filter((s) => s.key.endsWith('.jsonl'));
  const all: MetricRecord[] = [];
  for (const chunk of chunks) {
    all.push(...parseMetricsJsonl((await store.get(chunk.key)).toString('utf8'), chunk.key));
  }
  return sortMetrics(all);
}

/** Sorted by time, stable. */
export function sortMetrics(records: readonly MetricRecord[]): MetricRecord[] {
  return records
    .map((r, i) => ({ r, i, t: Date.parse(r.time) }))
    .sort((a, b) => a.t - b.t || a.i - b.i)
    .map((x) => x.r);
}

/**
 * Writes the merged experiments/<id>/metrics.jsonl (from `records`, or from the chunks in the store)
 * and returns its key.
 */
export async function writeMetricsJsonl(
  store: BlobStore,
  experimentId: string,
  records?: readonly MetricRecord[],
): Promise<string> {
  const key = reportKeys(experimentId).metricsJsonl;
  const merged = records
    ? sortMetrics(validateRecords(records, key))
    : await readMetrics(store, experimentId);
  await store.put(key, toJsonl(merged));
  return key;
}
