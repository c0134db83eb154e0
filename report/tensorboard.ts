/**
 * TensorBoard event files from the metric records, written by libtensorflow's own summary writer
 * (tfjs-node's `tf.node.summaryFileWriter`), so they are exactly what TensorBoard reads. Only the
 * native `tensorflow` backend has that writer; on wasm/cpu there is no TensorBoard output.
 *
 * Tags are `<stage>/<name>` (`pretrain/loss`, `knn/knn_top1`), with `fraction-<f>/` for fine-tuning
 * runs and a `random-init/` or `pixels/` prefix for the baselines. The step is the record's step, else its
 * epoch. The caller uploads the folder to experiments/<id>/tensorboard/ (see ./keys.ts).
 *
 * ```ts
 * if (tensorBoardAvailable()) await writeTensorBoard(localDir, metrics);
 * ```
 */
import { readdirSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { activeBackend } from '../simclr/backend';
import type { MetricRecord } from './metrics';

/** True when the active TensorFlow.js backend is native TensorFlow (tfjs-node or tfjs-node-gpu). */
export function tensorBoardAvailable(): boolean {
  return activeBackend()?.name === 'tensorflow';
}

/** The TensorBoard tag of a record. */
export function tensorBoardTag(r: MetricRecord): string {
  return [
    r.encoder === 'pretrained' ? undefined : r.encoder,
    r.stage,
    r.fraction !== undefined ? `fraction-${r.fraction}` : undefined,
    r.name,
  ]
    .filter((p) => p !== undefined)
    .join('/');
}

export interface TensorBoardOutput {
  /** Event files in the log folder (paths), with their sizes in bytes. */
  files: { path: string; size: number }[];
  scalars: number;
}

/**
 * Writes every record as a scalar summary into `logdir` (created if missing) and flushes. Use a fresh
 * folder per call: tfjs-node keeps one writer per folder for the life of the process.
 * Throws when the active backend is not native TensorFlow, or when no event file appeared.
 */
export async function writeTensorBoard(
  logdir: string,
  records: readonly MetricRecord[],
): Promise<TensorBoardOutput> {
  if (!tensorBoardAvailable()) {
    const active = activeBackend();
    throw new Error(
      `TensorBoard event files need the native 'tensorflow' backend; the active backend is ${active ? `'${active.name}'` : 'none (call initBackend first)'}`,
    );
  }
  await mkdir(logdir, { recursive: true });
  // Loaded lazily: only processes on the native backend have (and may load) tfjs-node.
  const tfnode = require('@tensorflow/tfjs-node') as typeof import('@tensorflow/tfjs-node');
  const writer = tfnode.node.summaryFileWriter(logdir);
  let scalars = 0;
  for (const r of records) {
    writer.scalar(tensorBoardTag(r), r.value, r.step ?? r.epoch ?? 0);
    scalars++;
  }
  writer.flush();
  const files = readdirSync(logdir)
    .filter((f) => f.startsWith('events.out.tfevents'))
    .map((f) => ({ path: join(logdir, f), size: statSync(join(logdir, f)).size }));
  if (files.length === 0 || (scalars > 0 && files.every((f) => f.size === 0))) {
    throw new Error(`TensorBoard writer produced no event data in ${logdir}`);
  }
  return { files, scalars };
}
