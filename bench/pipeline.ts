/**
 * In-pipeline training speed against the isolated step, on the same machine in the same bench run: a
 * real experiment through the `simclr` command (a local Temporal dev server, the filesystem store in a
 * temporary $SIMCLR_HOME, Fashion-MNIST IDX files, resnet-mini) and `bench train` with the same model and
 * batch, each in its own process, alternated.
 *
 *   npm run bench -- pipeline [--mode embedded|workers|both] [--train-images 12000] [--test-images 1000]
 *                             [--epochs 3] [--batch 256] [--rounds 3] [--steps <one epoch's>] [--knn]
 *                             [--source /usr/share/datasets/fashion-mnist] [--json]
 *
 * Figures per pipeline run (views/s; a view is one augmented image, two per image and step):
 *   median step  median over the epochs of 2·batch ÷ the epoch's median step time
 *                (pretrain/step_ms_median): the statistic `bench train` quotes, robust to bursts of
 *                other work on a shared machine
 *   steps        median over the epochs of the views ÷ the epoch's training-step seconds
 *                (pretrain/time_steps_s): every step's time counts
 *   loop         median of pretrain/images_per_sec: the epoch's runEpoch call (steps, view waits,
 *                heartbeats, checkpoints every N steps)
 *   stage        all views ÷ the pretrain stage's wall time (first precompute, kNN monitor,
 *                end-of-epoch checkpoints, workflow tasks included)
 * Each is set against the isolated step (`bench train`, as many steps as an epoch has), run right before
 * and right after every pipeline run (the mean of the two): median step against its median step, steps
 * against the sum of its step times, and the stage against its median step, as issue 7 compares them. The
 * kNN monitor is off unless --knn: it is evaluation, not training, and its cost shows in the stage
 * breakdown when on. Modes: `embedded` is `simclr run --embedded` (workers in the CLI process);
 * `workers` is `simclr run` served by a `simclr worker --queue cpu` and a `simclr worker --queue gpu`
 * process. The last line is the JSON document with --json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  median,
  runIsolatedStep,
  runPipeline,
  startBenchTemporal,
  type PipelineBenchConfig,
  type PipelineFigures,
  type PipelineMode,
} from './pipeline-run';

export interface PipelineBenchOptions extends PipelineBenchConfig {
  modes: PipelineMode[];
  rounds: number;
  /** Measured steps of the isolated step bench (default: one epoch's, so it samples the machine as long). */
  steps: number;
  json: boolean;
}

/** Parses `pipeline` arguments; unknown flags and bad values are errors that name them. */
export function parsePipelineArgs(argv: string[]): PipelineBenchOptions {
  const out: PipelineBenchOptions = {
    source: '/usr/share/datasets/fashion-mnist',
    trainImages: 12_000,
    testImages: 1000,
    epochs: 3,
    batch: 256,
    knn: false,
    modes: ['embedded'],
    rounds: 3,
    steps: 0,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench pipeline: ${flag} needs a value`);
      return v;
    };
    const int = (min: number): number => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min)
        throw new Error(`bench pipeline: ${flag} must be an integer >= ${min} (got ${argv[i]})`);
      return n;
    };
    switch (flag) {
      case '--mode': {
        const m = value();
        if (m !== 'embedded' && m !== 'workers' && m !== 'both')
          throw new Error(`bench pipeline: --mode must be embedded, workers or both (got ${m})`);
        out.modes = m === 'both' ? ['embedded', 'workers'] : [m];
        break;
      }
      case '--train-images':
        out.trainImages = int(2);
        break;
      case '--test-images':
        out.testImages = int(1);
        break;
      case '--epochs':
        out.epochs = int(1);
        break;
      case '--batch':
        out.batch = int(2);
        break;
      case '--rounds':
        out.rounds = int(1);
        break;
      case '--steps':
        out.steps = int(1);
        break;
      case '--source':
        out.source = value();
        break;
      case '--knn':
        out.knn = true;
        break;
      case '--json':
        out.json = true;
        break;
      default:
        throw new Error(`bench pipeline: unknown argument '${flag}'`);
    }
  }
  if (out.trainImages < out.batch)
    throw new Error(
      `bench pipeline: --train-images (${out.trainImages}) must be at least --batch (${out.batch})`,
    );
  if (out.steps === 0) out.steps = Math.floor(out.trainImages / out.batch);
  return out;
}

/** The isolated step of one `bench train` run, in views/s. */
interface Isolated {
  /** At its median step time (what `bench train` quotes as imagesPerSec). */
  median: number;
  /** Over the sum of its step times: the statistic of the pipeline's steps figure. */
  mean: number;
}

/** One pipeline run and the isolated step measured right before and right after it. */
interface Measurement {
  round: number;
  pipeline: PipelineFigures;
  /** The mean of the isolated runs before and after the pipeline run. */
  isolated: Isolated;
  isolatedRuns: [Isolated, Isolated];
}

/** The pipeline run's rates over the isolated step's (same statistic; the stage against the median step). */
function ratios(m: Measurement) {
  return {
    medianStep: m.pipeline.medianStepViewsPerSec / m.isolated.median,
    steps: m.pipeline.stepsViewsPerSec / m.isolated.mean,
    stage: m.pipeline.stageViewsPerSec / m.isolated.median,
  };
}

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
const n0 = (x: number): string => Math.round(x).toLocaleString('en-US');
const row = (cells: string[]) => `| ${cells.join(' | ')} |`;

/** The per-run table with the medians per mode, and where the stage went, as Markdown. */
function tables(ms: Measurement[], modes: PipelineMode[]): string {
  const head = [
    'mode',
    'round',
    'isolated median step',
    'pipeline median step',
    'ratio',
    'isolated steps',
    'pipeline steps',
    'ratio',
    'pipeline loop',
    'pipeline stage',
    'stage / isolated median step',
  ];
  const lines = [row(head), row(head.map(() => '---'))];
  const cells = (mode: string, round: string, of: (pick: (m: Measurement) => number) => number) => [
    mode,
    round,
    n0(of((m) => m.isolated.median)),
    n0(of((m) => m.pipeline.medianStepViewsPerSec)),
    pct(of((m) => ratios(m).medianStep)),
    n0(of((m) => m.isolated.mean)),
    n0(of((m) => m.pipeline.stepsViewsPerSec)),
    pct(of((m) => ratios(m).steps)),
    n0(of((m) => m.pipeline.loopViewsPerSec)),
    n0(of((m) => m.pipeline.stageViewsPerSec)),
    pct(of((m) => ratios(m).stage)),
  ];
  for (const mode of modes) {
    const mine = ms.filter((m) => m.pipeline.mode === mode);
    for (const m of mine) lines.push(row(cells(mode, String(m.round), (pick) => pick(m))));
    lines.push(row(cells(`**${mode}**`, '**median**', (pick) => median(mine.map(pick)))));
  }
  lines.push('', 'Where the pretrain stage went (seconds, median over rounds):', '');
  const parts = ['steps', 'views', 'checkpoint', 'knn', 'metrics', 'setup', 'loop', 'other'] as const;
  lines.push(row(['mode', 'stage', ...parts]), row(['---', '---', ...parts.map(() => '---')]));
  for (const mode of modes) {
    const ps = ms.filter((m) => m.pipeline.mode === mode).map((m) => m.pipeline);
    lines.push(
      row([
        mode,
        median(ps.map((p) => p.stageSeconds)).toFixed(1),
        ...parts.map((k) => median(ps.map((p) => p.breakdown[k])).toFixed(2)),
      ]),
    );
  }
  const cpuWorker = ms.flatMap((m) => m.pipeline.cpuWorkerCpuSeconds ?? []);
  if (cpuWorker.length)
    lines.push(
      '',
      `The \`simclr worker --queue cpu\` process used ${median(cpuWorker).toFixed(1)} CPU-seconds over a whole ` +
        'workers-mode run (median; shard, precompute, report and workflow tasks).',
    );
  return lines.join('\n');
}

/** The medians over rounds of each mode's rates and of their ratios to the isolated step. */
function summary(ms: Measurement[], modes: PipelineMode[]) {
  return Object.fromEntries(
    modes.map((mode) => {
      const mine = ms.filter((m) => m.pipeline.mode === mode);
      const med = (pick: (m: Measurement) => number) => median(mine.map(pick));
      return [
        mode,
        {
          isolatedMedianStepViewsPerSec: med((m) => m.isolated.median),
          medianStepViewsPerSec: med((m) => m.pipeline.medianStepViewsPerSec),
          medianStepRatio: med((m) => ratios(m).medianStep),
          isolatedStepsViewsPerSec: med((m) => m.isolated.mean),
          stepsViewsPerSec: med((m) => m.pipeline.stepsViewsPerSec),
          stepsRatio: med((m) => ratios(m).steps),
          loopViewsPerSec: med((m) => m.pipeline.loopViewsPerSec),
          stageViewsPerSec: med((m) => m.pipeline.stageViewsPerSec),
          stageRatio: med((m) => ratios(m).stage),
        },
      ];
    }),
  );
}

/**
 * `bench pipeline`: per round, the isolated step, then each mode's pipeline run followed by the isolated
 * step again (the modes' order alternates across rounds), so that every pipeline run is compared with
 * the mean of the isolated runs on either side of it; progress on stderr, then the tables and (with
 * --json) the JSON line.
 */
export async function pipelineCommand(argv: string[]): Promise<void> {
  const opts = parsePipelineArgs(argv);
  const home = mkdtempSync(join(tmpdir(), 'simclr-bench-pipeline-'));
  const temporal = await startBenchTemporal();
  const note = (l: string) => console.error(l);
  const measurements: Measurement[] = [];
  const isolatedStep = async (round: number): Promise<Isolated> => {
    const r = await runIsolatedStep(opts.batch, opts.steps);
    note(
      `round ${round}: isolated step: median ${r.imagesPerSec} views/s (${r.stepMs} ms), ${r.stepsImagesPerSec} over ${opts.steps} steps; ${r.threads} threads`,
    );
    return { median: r.imagesPerSec, mean: r.stepsImagesPerSec! };
  };
  try {
    for (let round = 1; round <= opts.rounds; round++) {
      let before = await isolatedStep(round);
      for (const mode of round % 2 === 1 ? opts.modes : [...opts.modes].reverse()) {
        const pipeline = await runPipeline(mode, opts, {
          home,
          address: temporal.address,
          experimentId: `bench-${mode}-r${round}`,
        });
        note(
          `round ${round}: ${mode}: median step ${n0(pipeline.medianStepViewsPerSec)} views/s, ` +
            `steps ${n0(pipeline.stepsViewsPerSec)} (epochs ${pipeline.epochStepsViewsPerSec.map(n0).join(', ')}), ` +
            `loop ${n0(pipeline.loopViewsPerSec)}, stage ${n0(pipeline.stageViewsPerSec)} ` +
            `(${pipeline.stageSeconds.toFixed(1)} s; command ${pipeline.wallSeconds.toFixed(0)} s` +
            (pipeline.cpuWorkerCpuSeconds === undefined
              ? ')'
              : `; cpu worker ${pipeline.cpuWorkerCpuSeconds.toFixed(1)} CPU-s)`),
        );
        const after = await isolatedStep(round);
        measurements.push({
          round,
          pipeline,
          isolated: { median: (before.median + after.median) / 2, mean: (before.mean + after.mean) / 2 },
          isolatedRuns: [before, after],
        });
        before = after;
      }
    }
  } finally {
    await temporal.teardown();
    rmSync(home, { recursive: true, force: true });
  }
  const machine = `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${availableParallelism()} cores`;
  console.log(
    `resnet-mini 28×28×1, batch ${opts.batch}, ${opts.trainImages} images × ${opts.epochs} epochs, ` +
      `kNN monitor ${opts.knn ? 'every epoch' : 'off'}, ${opts.rounds} rounds; ${machine}; views/s\n`,
  );
  console.log(tables(measurements, opts.modes));
  if (opts.json) {
    const { json: _json, ...config } = opts;
    console.log(
      JSON.stringify({ config, machine, summary: summary(measurements, opts.modes), measurements }),
    );
  }
}
