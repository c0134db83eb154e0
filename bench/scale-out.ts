/**
 * Scale-out on one machine: one real experiment served by N `simclr worker --queue cpu` processes and
 * one `simclr worker --queue gpu` process, for N = 1, 2, … up to the core count, and how the
 * augmentation precompute grows with N and spreads across the workers, read from the workflow history.
 *
 *   npm run bench -- scale-out [--workers 1,2] [--rounds 1] [--train-images 4096] [--image-size 64]
 *                              [--shard-size 256] [--epochs 3] [--source /usr/share/datasets/fashion-mnist]
 *                              [--json]
 *
 * Each N runs the experiment through the `simclr` command (a Temporal dev server of its own, the
 * filesystem store in a temporary $SIMCLR_HOME shared by the workers) with a new seed, so no view is
 * ever found already written. The experiment is sized so that augmentation dominates: Fashion-MNIST
 * resized to 64 px (blur on above 32 px, as the paper does for ImageNet), many shards per epoch, and a
 * small model (resnet-mini at width ×0.25, ImageNet stem) so that training keeps up with the views.
 * Figures per N, from the history (every precomputeAugmentations that computed views):
 *   views/s      all precomputed views ÷ the time during which at least one precompute ran (the union
 *                of their started → completed intervals, server clock)
 *   per-activity all precomputed views ÷ the summed started → completed seconds of the activities
 *                (one activity's own rate; it falls when processes or concurrent activities share a core)
 *   per worker   the activities and views of each cpu worker (ActivityTaskStarted `identity`)
 *   pretrain s   the pretrain stage's wall time and, in brackets, how long the loop waited for views
 *                (report.json): a large wait says the precompute is what the run waits on
 * With --rounds R the worker counts are run R times, alternated (1, 2, 1, 2, …: a shared machine's load
 * moves between runs), and a summary gives the median views/s per count. With --json the last line is
 * the JSON document.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import type { ExperimentInput } from '../config/schema';
import { positiveIntFlag } from '../cli/args';
import { table } from '../cli/format';
import { runSimclr } from '../test/helpers/cli';
import { spawnWorker, type WorkerProcess } from '../test/faults/lab';
import { busyMs, precomputeActivities, type PrecomputeActivity } from './precompute-history';
import { benchExperiment, median, readFigures, startBenchTemporal } from './pipeline-run';

/** Large, so that a step's fixed costs are spread over many views and training keeps up. */
const BATCH = 512;

export interface ScaleOutRow {
  round: number;
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
  /** The pretrain stage's wall time, and how much of it the loop waited for views (report.json). */
  pretrainSeconds: number;
  viewsWaitSeconds: number;
  /** Wall time of `simclr run` (shard, pretrain, evaluation, report). */
  wallSeconds: number;
  /** 1-minute load average of the machine before and after the run. */
  load: [number, number];
}

interface ScaleOutOptions {
  workers: number[];
  rounds: number;
  source: string;
  trainImages: number;
  imageSize: number;
  shardSize: number;
  epochs: number;
  json: boolean;
}

export function parseScaleOutArgs(argv: string[]): ScaleOutOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      workers: { type: 'string' },
      rounds: { type: 'string' },
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
    ? values.workers.split(',').map((w) => positiveIntFlag(w, 'workers', 1))
    : Array.from({ length: cores }, (_, i) => i + 1);
  return {
    workers,
    rounds: positiveIntFlag(values.rounds, 'rounds', 1),
    source: values.source ?? '/usr/share/datasets/fashion-mnist',
    trainImages: positiveIntFlag(values['train-images'], 'train-images', 4096),
    imageSize: positiveIntFlag(values['image-size'], 'image-size', 64),
    shardSize: positiveIntFlag(values['shard-size'], 'shard-size', 256),
    epochs: positiveIntFlag(values.epochs, 'epochs', 3),
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
    batch: BATCH,
    knn: false,
  });
  return {
    ...base,
    name: 'bench-scale-out',
    seed,
    dataset: { ...base.dataset, imageSize: o.imageSize, channels: 1, shardSize: o.shardSize },
    // Every epoch's views are queued at the start (up to the schema's 16), so the cpu workers never wait
    // for the loop to ask.
    augmentation: { lookaheadEpochs: Math.min(o.epochs, 16) },
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
  round: number,
  cpuWorkers: number,
  ctx: { home: string; address: string; client: Client },
): Promise<ScaleOutRow> {
  const experimentId = `scale-out-r${round}-${cpuWorkers}`;
  const file = join(ctx.home, `${experimentId}.json`);
  // A seed of its own: its views are new (a view's key holds the seed), never found already written.
  writeFileSync(file, JSON.stringify(scaleOutExperiment(o, 100 * round + cpuWorkers), null, 2));
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
    const { stageSeconds, viewsWaitSeconds } = readFigures(ctx.home, experimentId, BATCH);
    return {
      ...figures(activities, workers.slice(1)),
      round,
      cpuWorkers,
      experimentId,
      pretrainSeconds: stageSeconds,
      viewsWaitSeconds,
      wallSeconds,
      load: [loadBefore, loadAfter],
    };
  } finally {
    await Promise.all(workers.map((w) => w.kill('SIGTERM')));
  }
}

/** Throughput and spread of the precompute activities over the cpu workers `cpu`. */
function figures(
  activities: PrecomputeActivity[],
  cpu: WorkerProcess[],
): Pick<
  ScaleOutRow,
  'activities' | 'views' | 'busySeconds' | 'viewsPerSec' | 'perActivityViewsPerSec' | 'workers'
> {
  const views = activities.reduce((s, a) => s + a.views, 0);
  const busy = busyMs(activities) / 1000;
  const activitySeconds = activities.reduce((s, a) => s + (a.completedMs - a.startedMs), 0) / 1000;
  // The SDK's default worker identity is `<pid>@<hostname>`.
  const ofPid = (pid: number) => activities.filter((a) => a.identity.startsWith(`${pid}@`));
  return {
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
  };
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function scaleOutTable(rows: ScaleOutRow[]): string {
  // Speed-up against the first worker count of the same round.
  const base = (round: number) => rows.find((r) => r.round === round)?.viewsPerSec ?? Number.NaN;
  return table(
    [
      'round',
      'cpu workers',
      'precompute views/s',
      'speed-up',
      'per-activity views/s',
      'busy s',
      'activities per worker (views)',
      'pretrain s (waiting for views)',
      'run s',
      'load 1m',
    ],
    rows.map((r) => [
      String(r.round),
      String(r.cpuWorkers),
      fmt(r.viewsPerSec),
      `${fmt(r.viewsPerSec / base(r.round), 2)}×`,
      fmt(r.perActivityViewsPerSec),
      fmt(r.busySeconds, 1),
      r.workers.map((w) => `${w.activities} (${fmt(w.views)})`).join(' / '),
      `${fmt(r.pretrainSeconds, 1)} (${fmt(r.viewsWaitSeconds, 1)})`,
      fmt(r.wallSeconds),
      `${fmt(r.load[0], 1)} → ${fmt(r.load[1], 1)}`,
    ]),
    ['right', 'right', 'right', 'right', 'right', 'right', 'left', 'right', 'right', 'left'],
  );
}

/**
 * Per worker count: the median views/s over the rounds, and the median over the rounds of its ratio to
 * the first count's views/s in the same round (the fairer comparison when the load moves between rounds).
 */
export function scaleOutSummary(
  workers: number[],
  rows: ScaleOutRow[],
): { cpuWorkers: number; medianViewsPerSec: number; medianSpeedUp: number }[] {
  const first = (round: number) => rows.find((r) => r.round === round && r.cpuWorkers === workers[0]);
  return workers.map((n) => {
    const mine = rows.filter((r) => r.cpuWorkers === n);
    return {
      cpuWorkers: n,
      medianViewsPerSec: median(mine.map((r) => r.viewsPerSec)),
      medianSpeedUp: median(mine.map((r) => r.viewsPerSec / (first(r.round)?.viewsPerSec ?? Number.NaN))),
    };
  });
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
    for (let round = 1; round <= o.rounds; round++)
      for (const n of o.workers) {
        console.error(`bench scale-out: round ${round}, ${n} cpu worker(s) + 1 gpu worker ...`);
        const row = await runRound(o, round, n, { home, address: temporal.address, client: temporal.client });
        rows.push(row);
        console.error(`  ${fmt(row.viewsPerSec)} views/s over ${fmt(row.busySeconds, 1)} s of precompute`);
      }
  } finally {
    await temporal.teardown();
    rmSync(home, { recursive: true, force: true });
  }
  console.log(scaleOutTable(rows));
  const summary = scaleOutSummary(o.workers, rows);
  console.log(
    `\nmedian over ${o.rounds} round(s): ${summary.map((s) => `${s.cpuWorkers} cpu: ${fmt(s.medianViewsPerSec)} views/s (${fmt(s.medianSpeedUp, 2)}× per round)`).join(', ')}`,
  );
  if (o.json) console.log(JSON.stringify({ options: o, rows, summary }));
}
