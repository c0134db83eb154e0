/**
 * The pieces of `npm run bench -- pipeline` (./pipeline.ts) that run things: a local Temporal dev server,
 * a real experiment driven through the `simclr` command as a user runs it (embedded, or against a
 * `simclr worker --queue cpu` and a `simclr worker --queue gpu` process), the isolated step
 * (`bench train`) as a child process, and the figures read back from the experiment's report.json and
 * metrics.jsonl in the filesystem store.
 */
import { startEphemeralTemporal } from '../infra/ephemeral-temporal';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentInput } from '../config/schema';
import type { TrainBenchResult } from './train';

const ROOT = join(__dirname, '..');

/** How the workers run: in the `simclr run --embedded` process, or as two `simclr worker` processes. */
export type PipelineMode = 'embedded' | 'workers';

export interface PipelineBenchConfig {
  source: string;
  trainImages: number;
  testImages: number;
  epochs: number;
  batch: number;
  /** Run the kNN monitor every epoch (the product's default) or never (steps-only measurements). */
  knn: boolean;
}

/** One pipeline run's figures: views/s of its epochs' steps, of the epoch loops and of the whole stage. */
export interface PipelineFigures {
  mode: PipelineMode;
  experimentId: string;
  epochs: number;
  stepsPerEpoch: number;
  /** Median over the epochs of 2·batch ÷ the epoch's median step time (pretrain/step_ms_median). */
  medianStepViewsPerSec: number;
  /** Median over the epochs of 2·batch·steps ÷ the epoch's training-step seconds (pretrain/time_steps_s). */
  stepsViewsPerSec: number;
  /** The same per epoch, in epoch order. */
  epochStepsViewsPerSec: number[];
  /** Median over the epochs of pretrain/images_per_sec: the runEpoch loop (steps, view waits, onStep). */
  loopViewsPerSec: number;
  /** All pretraining views ÷ the pretrain stage's wall time (precompute waits, kNN, checkpoints included). */
  stageViewsPerSec: number;
  stageSeconds: number;
  /** Seconds the pretrain loop waited for its epochs' views (report.json pretrain.augmentationWaitMs). */
  viewsWaitSeconds: number;
  /** Where the stage's seconds went, summed over the epochs; `other` is the stage's remainder. */
  breakdown: Record<
    'steps' | 'views' | 'checkpoint' | 'knn' | 'metrics' | 'setup' | 'loop' | 'other',
    number
  >;
  /** Wall time of the whole command (shard, pretrain, evaluation, report). */
  wallSeconds: number;
  /**
   * CPU seconds (user + system) of the `simclr worker --queue cpu` process over the whole run (shard,
   * precompute, report, workflow tasks): in `workers` mode, what competes with training for the cores.
   */
  cpuWorkerCpuSeconds?: number;
}

/** CPU seconds (user + system) a live process has used so far, from /proc (Linux); NaN elsewhere. */
function cpuSecondsOf(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, hence the last ')'): utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return Number.NaN;
  }
}

/** A Temporal dev server of its own (the Go-built binary when installed, else the SDK's download). */
export const startBenchTemporal = startEphemeralTemporal;

/**
 * The experiment file of the bench: the `bench train` model (resnet-mini, cifar stem, LARS) on the
 * first `trainImages` images, with the evaluation stages cut to the minimum (they are not measured).
 */
export function benchExperiment(c: PipelineBenchConfig): ExperimentInput {
  return {
    name: 'bench-pipeline',
    seed: 0,
    backend: 'tensorflow',
    dataset: {
      source: c.source,
      format: 'idx',
      imageSize: 28,
      maxTrainImages: c.trainImages,
      maxTestImages: c.testImages,
    },
    model: { encoder: 'resnet-mini', stem: 'cifar' },
    pretrain: {
      epochs: c.epochs,
      batchSize: c.batch,
      optimizer: 'lars',
      learningRateScaling: 'sqrt',
      warmupEpochs: Math.min(1, c.epochs - 1),
      knnEveryEpochs: c.knn ? 1 : 0,
    },
    fineTune: { labelFractions: [0.01], epochs: 1 },
    evaluation: { linear: { epochs: 1 }, randomInitBaseline: false },
  };
}

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** A child process of this repository's node; `ready` resolves when its stderr matches `readyWhen`. */
function child(
  args: string[],
  env: NodeJS.ProcessEnv,
  readyWhen?: RegExp,
): {
  done: Promise<ChildResult>;
  ready: Promise<void>;
  kill: (signal: NodeJS.Signals) => void;
  cpuSeconds: () => number;
} {
  const t0 = performance.now();
  const p = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  p.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
    if (readyWhen?.test(stderr)) markReady();
  });
  const done = new Promise<ChildResult>((resolve) =>
    p.on('close', (code) => {
      markReady();
      resolve({ code, stdout, stderr, seconds: (performance.now() - t0) / 1000 });
    }),
  );
  return { done, ready, kill: (signal) => void p.kill(signal), cpuSeconds: () => cpuSecondsOf(p.pid) };
}

function failure(what: string, r: ChildResult): Error {
  return new Error(
    `bench pipeline: ${what} failed (exit ${r.code}):\n${(r.stderr + r.stdout).trim().split('\n').slice(-12).join('\n')}`,
  );
}

/** `bench train` in a child process (the native backend loads with the product's thread configuration). */
export async function runIsolatedStep(batch: number, steps: number): Promise<TrainBenchResult> {
  const r = await child(
    [
      '--import',
      'tsx',
      join('bench', 'main.ts'),
      'train',
      '--model',
      'resnet-mini',
      '--batch',
      String(batch),
    ].concat(['--steps', String(steps), '--json']),
    { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
  ).done;
  const last = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || !last.startsWith('{')) throw failure('bench train', r);
  return JSON.parse(last) as TrainBenchResult;
}

/**
 * Runs the experiment through the `simclr` command against `address` with $SIMCLR_HOME = `home`:
 * `simclr run --embedded`, or `simclr run` with a cpu and a gpu `simclr worker` process serving it.
 */
export async function runPipeline(
  mode: PipelineMode,
  config: PipelineBenchConfig,
  opts: { home: string; address: string; experimentId: string },
): Promise<PipelineFigures> {
  const file = join(opts.home, `${opts.experimentId}.json`);
  writeFileSync(file, JSON.stringify(benchExperiment(config), null, 2));
  const env: NodeJS.ProcessEnv = { ...process.env, SIMCLR_HOME: opts.home, TF_CPP_MIN_LOG_LEVEL: '3' };
  for (const k of Object.keys(env)) if (k.startsWith('TEMPORAL_') || k === 'SIMCLR_STORE') delete env[k];
  const simclr = (args: string[], readyWhen?: RegExp) =>
    child(['bin/simclr', ...args, '--address', opts.address], env, readyWhen);
  const workers =
    mode === 'workers'
      ? (['cpu', 'gpu'] as const).map((q) => simclr(['worker', '--queue', q], /worker: serving/))
      : [];
  try {
    await Promise.all(workers.map((w) => w.ready));
    const run = await simclr([
      'run',
      file,
      '--json',
      '--id',
      opts.experimentId,
      ...(mode === 'embedded' ? ['--embedded'] : []),
    ]).done;
    if (run.code !== 0) throw failure(`simclr run (${mode})`, run);
    return {
      ...readFigures(opts.home, opts.experimentId, config.batch),
      mode,
      wallSeconds: run.seconds,
      ...(mode === 'workers' ? { cpuWorkerCpuSeconds: workers[0].cpuSeconds() } : {}),
    };
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.done));
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The figures of a finished experiment, from its report.json and metrics.jsonl in the filesystem store. */
export function readFigures(
  home: string,
  experimentId: string,
  batch: number,
): Omit<PipelineFigures, 'mode' | 'wallSeconds'> {
  const dir = join(home, 'store', 'experiments', experimentId);
  const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as {
    timings: { stage: string; seconds?: number }[];
    pretrain: {
      epochs: number;
      steps: number;
      timeBreakdown: Record<string, number>;
      augmentationWaitMs?: number;
    };
  };
  const records = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { stage: string; name: string; epoch?: number; value: number });
  const perEpoch = (name: string): number[] => {
    const byEpoch = new Map<number, number>();
    for (const r of records)
      if (r.stage === 'pretrain' && r.name === name) byEpoch.set(r.epoch ?? 0, r.value);
    return [...byEpoch.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  };
  const epochs = report.pretrain.epochs;
  const stepsPerEpoch = report.pretrain.steps / epochs;
  const viewsPerEpoch = 2 * batch * stepsPerEpoch;
  const epochSteps = perEpoch('time_steps_s').map((s) => viewsPerEpoch / s);
  const stageSeconds = report.timings.find((t) => t.stage === 'pretrain')?.seconds ?? Number.NaN;
  const t = report.pretrain.timeBreakdown;
  const parts = {
    steps: t.stepsSeconds,
    views: t.viewsSeconds,
    checkpoint: t.checkpointSeconds,
    knn: t.knnSeconds,
    metrics: t.metricsSeconds,
    setup: t.setupSeconds,
  };
  const partsSum = Object.values(parts).reduce((a, b) => a + b, 0);
  return {
    experimentId,
    epochs,
    stepsPerEpoch,
    medianStepViewsPerSec: median(perEpoch('step_ms_median').map((ms) => (2 * batch * 1000) / ms)),
    stepsViewsPerSec: median(epochSteps),
    epochStepsViewsPerSec: epochSteps,
    loopViewsPerSec: median(perEpoch('images_per_sec')),
    stageViewsPerSec: (viewsPerEpoch * epochs) / stageSeconds,
    stageSeconds,
    viewsWaitSeconds: (report.pretrain.augmentationWaitMs ?? Number.NaN) / 1000,
    breakdown: {
      ...parts,
      // The epochs' own remainder: heartbeats, metric records and the loop's yields in pretrainEpoch.
      loop: t.totalSeconds - partsSum,
      // The stage outside the epochs: waiting for the first epoch's views, workflow tasks, view deletes.
      other: stageSeconds - t.totalSeconds,
    },
  };
}

export { median };
