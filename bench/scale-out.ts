/**
 * Scale-out on one machine: one real experiment served by N `simclr worker --queue cpu` processes and
 * one `simclr worker --queue gpu` process, for N = 1, 2, … up to the core count, and how the
 * augmentation precompute grows with N and spreads across the workers, read from the workflow history.
 *
 *   npm run bench -- scale-out [--workers 1,2] [--train-images 4096] [--image-size 64] [--shard-size 256]
 *                              [--epochs 3] [--source /usr/share/datasets/fashion-mnist] [--json]
 *
 * Each N runs the experiment through the `simclr` command (a Temporal dev server of its own, the
 * filesystem store in a temporary $SIMCLR_HOME shared by the workers) with a new seed, so no view is
 * ever found already written. The experiment is sized so that augmentation dominates: Fashion-MNIST
 * resized to 64 px (blur on above 32 px, as the paper does for ImageNet), many shards per epoch, and a
 * small model (resnet-mini at width ×0.25, ImageNet stem) so that training keeps up with the views.
 * Figures per N, from the history (every precomputeAugmentations that computed views):
 *   views/s      all precomputed views ÷ the time during which at least one precompute ran (the union
 *                of their started → completed intervals, server clock)
 *   per worker   the activities and views of each cpu worker (ActivityTaskStarted `identity`)
 * With --json the last line is the JSON document.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ExperimentInput } from '../config/schema';
import { table } from '../cli/format';
import { runSimclr } from '../test/helpers/cli';
import { spawnWorker, type WorkerProcess } from '../test/faults/lab';
import { busyMs, precomputeActivities, type PrecomputeActivity } from './precompute-history';
import { benchExperiment, startBenchTemporal } from './pipeline-run';

export interface ScaleOutRow {
  cpuWorkers: number;
  experimentId: string;
  activities: number;
  views: number;
  /** Seconds during which at least one precompute activity ran. */
  busySeconds: number;
  viewsPerSec: number;
  /** Views ÷ the summed activity seconds: one activity's own rate (falls when processes share a core). */
  perActivityViewsPerSec: number;
  /** Per cpu worker, in start order: its activities and views. */
  workers: { pid: number; activities: number; views: number }[];
  /** Wall time of `simclr run` (shard, pretrain, evaluation, report). */
  wallSeconds: number;
  /** 1-minute load average of the machine before and after the run. */
  load: [number, number];
}

interface ScaleOutOptions {
  workers: number[];
  source: string;
  trainImages: number;
  imageSize: number;
  shardSize: number;
  epochs: number;
  json: boolean;
}

function positiveInt(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`bench scale-out: --${flag} must be a positive integer, got '${value}'`);
  return n;
}

export function parseScaleOutArgs(argv: string[]): ScaleOutOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      workers: { type: 'string' },
      source: { type: 'string' },
      'train-images': { type: 'string' },
      'image-size': { type: 'string' },
      'shard-size': { type: 'string' },
      epochs: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const cores = availableParallelism();
  const workers = values.workers
    ? values.workers.split(',').map((w) => positiveInt('workers', w, 1))
    : Array.from({ length: cores }, (_, i) => i + 1);
  return {
    workers,
    source: values.source ?? '/usr/share/datasets/fashion-mnist',
    trainImages: positiveInt('train-images', values['train-images'], 4096),
    imageSize: positiveInt('image-size', values['image-size'], 64),
    shardSize: positiveInt('shard-size', values['shard-size'], 256),
    epochs: positiveInt('epochs', values.epochs, 3),
    json: values.json ?? false,
  };
}

/** The bench pipeline's experiment, resized and on a small model so that augmentation dominates. */
export function scaleOutExperiment(o: ScaleOutOptions, seed: number): ExperimentInput {
  const base = benchExperiment({
    source: o.source,
    trainImages: o.trainImages,
    testImages: 256,
    epochs: o.epochs,
    batch: 256,
    knn: false,
  });
  return {
    ...base,
    name: 'bench-scale-out',
    seed,
    dataset: { ...base.dataset, imageSize: o.imageSize, channels: 1, shardSize: o.shardSize },
    model: { encoder: 'resnet-mini', stem: 'imagenet', widthMultiplier: 0.25 },
    evaluation: {
      ...base.evaluation,
      baselines: { pixels: false, supervised: false, scratchFineTune: false },
    },
  };
}

/** One experiment served by `cpuWorkers` cpu-queue processes and one gpu-queue process. */
async function runRound(
  o: ScaleOutOptions,
  cpuWorkers: number,
  ctx: { home: string; address: string; client: import('@temporalio/client').Client },
): Promise<ScaleOutRow> {
  const experimentId = `scale-out-${cpuWorkers}`;
  const file = join(ctx.home, `${experimentId}.json`);
  writeFileSync(file, JSON.stringify(scaleOutExperiment(o, cpuWorkers), null, 2));
  const env = { SIMCLR_HOME: ctx.home, TF_CPP_MIN_LOG_LEVEL: '3' };
  const workers: WorkerProcess[] = [];
  const log = (queue: string, i: number) => join(ctx.home, `${experimentId}-${queue}-${i}.log`);
  try {
    const started = await Promise.allSettled([
      spawnWorker('gpu', log('gpu', 0), { address: ctx.address, env }),
      ...Array.from({ length: cpuWorkers }, (_, i) =>
        spawnWorker('cpu', log('cpu', i + 1), { address: ctx.address, env }),
      ),
    ]);
    for (const s of started) if (s.status === 'fulfilled') workers.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;

    const loadBefore = loadavg()[0];
    const t0 = performance.now();
    const run = await runSimclr(['run', file, '--json', '--id', experimentId], {
      home: ctx.home,
      address: ctx.address,
      env,
      timeoutMs: 60 * 60_000,
    });
    const wallSeconds = (performance.now() - t0) / 1000;
    if (run.code !== 0)
      throw new Error(
        `bench scale-out: simclr run (${cpuWorkers} cpu workers) failed:\n${run.stdout}\n${run.stderr.slice(-2000)}`,
      );
    const loadAfter = loadavg()[0];

    const activities = await precomputeActivities(ctx.client, experimentId);
    return figures(experimentId, cpuWorkers, activities, workers.slice(1), wallSeconds, [
      loadBefore,
      loadAfter,
    ]);
  } finally {
    await Promise.all(workers.map((w) => w.kill('SIGTERM')));
  }
}

function figures(
  experimentId: string,
  cpuWorkers: number,
  activities: PrecomputeActivity[],
  cpu: WorkerProcess[],
  wallSeconds: number,
  load: [number, number],
): ScaleOutRow {
  const views = activities.reduce((s, a) => s + a.views, 0);
  const busy = busyMs(activities) / 1000;
  const activitySeconds = activities.reduce((s, a) => s + (a.completedMs - a.startedMs), 0) / 1000;
  // The SDK's default worker identity is `<pid>@<hostname>`.
  const ofPid = (pid: number) => activities.filter((a) => a.identity.startsWith(`${pid}@`));
  return {
    cpuWorkers,
    experimentId,
    activities: activities.length,
    views,
    busySeconds: busy,
    viewsPerSec: views / busy,
    perActivityViewsPerSec: views / activitySeconds,
    workers: cpu.map((w) => ({
      pid: w.pid,
      activities: ofPid(w.pid).length,
      views: ofPid(w.pid).reduce((s, a) => s + a.views, 0),
    })),
    wallSeconds,
    load,
  };
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function scaleOutTable(rows: ScaleOutRow[]): string {
  const base = rows[0]?.viewsPerSec ?? Number.NaN;
  return table(
    [
      'cpu workers',
      'precompute views/s',
      'speed-up',
      'per-activity views/s',
      'busy s',
      'activities per worker (views)',
      'run s',
      'load 1m',
    ],
    rows.map((r) => [
      String(r.cpuWorkers),
      fmt(r.viewsPerSec),
      `${fmt(r.viewsPerSec / base, 2)}×`,
      fmt(r.perActivityViewsPerSec),
      fmt(r.busySeconds, 1),
      r.workers.map((w) => `${w.activities} (${fmt(w.views)})`).join(' / '),
      fmt(r.wallSeconds),
      `${fmt(r.load[0], 1)} → ${fmt(r.load[1], 1)}`,
    ]),
    ['right', 'right', 'right', 'right', 'right', 'left', 'right', 'left'],
  );
}

export async function scaleOutCommand(argv: string[]): Promise<void> {
  const o = parseScaleOutArgs(argv);
  const temporal = await startBenchTemporal();
  const home = mkdtempSync(join(tmpdir(), 'simclr-scale-out-'));
  const rows: ScaleOutRow[] = [];
  try {
    console.error(
      `bench scale-out: ${o.trainImages} images at ${o.imageSize} px in shards of ${o.shardSize}, ${o.epochs} epochs; ` +
        `cpu workers ${o.workers.join(', ')} on ${availableParallelism()} cores`,
    );
    for (const n of o.workers) {
      console.error(`bench scale-out: ${n} cpu worker(s) + 1 gpu worker ...`);
      const row = await runRound(o, n, { home, address: temporal.address, client: temporal.client });
      rows.push(row);
      console.error(`  ${fmt(row.viewsPerSec)} views/s over ${fmt(row.busySeconds, 1)} s of precompute`);
    }
  } finally {
    await temporal.teardown();
    rmSync(home, { recursive: true, force: true });
  }
  console.log(scaleOutTable(rows));
  if (o.json) console.log(JSON.stringify({ options: o, rows }));
}
