/**
 * In-pipeline training speed against the isolated step, on the same machine in the same bench run: a
 * real experiment through the `simclr` command (a local Temporal dev server, the filesystem store in a
 * temporary $SIMCLR_HOME, Fashion-MNIST IDX files, resnet-mini) and `bench train` with the same model and
 * batch, each in its own process, the order alternated across rounds.
 *
 *   npm run bench -- pipeline [--mode embedded|workers|both] [--train-images 12000] [--test-images 1000]
 *                             [--epochs 3] [--batch 256] [--rounds 3] [--steps 10] [--knn]
 *                             [--source /usr/share/datasets/fashion-mnist] [--json]
 *
 * Figures per pipeline run (views/s; a view is one augmented image, two per image and step):
 *   steps   median over the epochs of the views ÷ the epoch's training-step seconds
 *           (pretrain/time_steps_s): what the loop's steps achieve inside the pipeline
 *   loop    median of pretrain/images_per_sec: the epoch's runEpoch call (steps, view waits, heartbeats,
 *           checkpoints every N steps)
 *   stage   all views ÷ the pretrain stage's wall time (first precompute, kNN monitor, end-of-epoch
 *           checkpoints, workflow tasks included)
 * and each against the isolated step's views/s (`bench train`, median step) of the same round. The
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
import type { TrainBenchResult } from './train';

export interface PipelineBenchOptions extends PipelineBenchConfig {
  modes: PipelineMode[];
  rounds: number;
  /** Measured steps of the isolated step bench. */
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
    steps: 10,
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
  return out;
}

interface Round {
  round: number;
  isolated: Pick<TrainBenchResult, 'imagesPerSec' | 'stepMs' | 'loopImagesPerSec' | 'threads'>;
  pipelines: PipelineFigures[];
}

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
const n0 = (x: number): string => Math.round(x).toLocaleString('en-US');

/** The per-round table and the medians, as Markdown. */
function tables(rounds: Round[], modes: PipelineMode[]): string {
  const head = ['round', 'isolated step'];
  for (const m of modes) head.push(`${m} steps`, 'ratio', `${m} loop`, `${m} stage`, 'ratio');
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const lines = [row(head), row(head.map(() => '---'))];
  const ratios = (m: PipelineMode, pick: (p: PipelineFigures) => number) =>
    rounds.map((r) => pick(r.pipelines.find((p) => p.mode === m)!) / r.isolated.imagesPerSec);
  for (const r of rounds) {
    const cells = [String(r.round), n0(r.isolated.imagesPerSec)];
    for (const m of modes) {
      const p = r.pipelines.find((x) => x.mode === m)!;
      cells.push(
        n0(p.stepsViewsPerSec),
        pct(p.stepsViewsPerSec / r.isolated.imagesPerSec),
        n0(p.loopViewsPerSec),
        n0(p.stageViewsPerSec),
        pct(p.stageViewsPerSec / r.isolated.imagesPerSec),
      );
    }
    lines.push(row(cells));
  }
  const med = ['median', n0(median(rounds.map((r) => r.isolated.imagesPerSec)))];
  for (const m of modes) {
    const of = (pick: (p: PipelineFigures) => number) =>
      median(rounds.map((r) => pick(r.pipelines.find((p) => p.mode === m)!)));
    med.push(
      n0(of((p) => p.stepsViewsPerSec)),
      pct(median(ratios(m, (p) => p.stepsViewsPerSec))),
      n0(of((p) => p.loopViewsPerSec)),
      n0(of((p) => p.stageViewsPerSec)),
      pct(median(ratios(m, (p) => p.stageViewsPerSec))),
    );
  }
  lines.push(row(med));
  lines.push('', 'Where the pretrain stage went (seconds, median over rounds):', '');
  const parts = ['steps', 'views', 'checkpoint', 'knn', 'metrics', 'setup', 'loop', 'other'] as const;
  lines.push(row(['mode', 'stage', ...parts]), row(['---', '---', ...parts.map(() => '---')]));
  for (const m of modes) {
    const ps = rounds.map((r) => r.pipelines.find((p) => p.mode === m)!);
    lines.push(
      row([
        m,
        median(ps.map((p) => p.stageSeconds)).toFixed(1),
        ...parts.map((k) => median(ps.map((p) => p.breakdown[k])).toFixed(2)),
      ]),
    );
  }
  return lines.join('\n');
}

/** The medians over rounds of each mode's rates and of their ratios to the isolated step. */
function summary(rounds: Round[], modes: PipelineMode[]) {
  return Object.fromEntries(
    modes.map((m) => {
      const ps = rounds.map((r) => ({
        p: r.pipelines.find((x) => x.mode === m)!,
        iso: r.isolated.imagesPerSec,
      }));
      return [
        m,
        {
          stepsViewsPerSec: median(ps.map((x) => x.p.stepsViewsPerSec)),
          stepsRatio: median(ps.map((x) => x.p.stepsViewsPerSec / x.iso)),
          loopViewsPerSec: median(ps.map((x) => x.p.loopViewsPerSec)),
          loopRatio: median(ps.map((x) => x.p.loopViewsPerSec / x.iso)),
          stageViewsPerSec: median(ps.map((x) => x.p.stageViewsPerSec)),
          stageRatio: median(ps.map((x) => x.p.stageViewsPerSec / x.iso)),
        },
      ];
    }),
  );
}

/** `bench pipeline`: the rounds, a table on stderr as they finish, the tables and (with --json) the JSON line. */
export async function pipelineCommand(argv: string[]): Promise<void> {
  const opts = parsePipelineArgs(argv);
  const home = mkdtempSync(join(tmpdir(), 'simclr-bench-pipeline-'));
  const temporal = await startBenchTemporal();
  const note = (l: string) => console.error(l);
  const rounds: Round[] = [];
  try {
    for (let round = 1; round <= opts.rounds; round++) {
      let isolated: TrainBenchResult | undefined;
      const pipelines: PipelineFigures[] = [];
      const runIsolated = async () => {
        isolated = await runIsolatedStep(opts.batch, opts.steps);
        note(`round ${round}: isolated step ${isolated.imagesPerSec} views/s (${isolated.stepMs} ms)`);
      };
      // Alternate the order, so that a drift of the machine's load does not favour one side.
      if (round % 2 === 1) await runIsolated();
      for (const mode of round % 2 === 1 ? opts.modes : [...opts.modes].reverse()) {
        const p = await runPipeline(mode, opts, {
          home,
          address: temporal.address,
          experimentId: `bench-${mode}-r${round}`,
        });
        pipelines.push(p);
        note(
          `round ${round}: ${mode} steps ${n0(p.stepsViewsPerSec)} views/s (epochs ${p.epochStepsViewsPerSec.map(n0).join(', ')}), ` +
            `loop ${n0(p.loopViewsPerSec)}, stage ${n0(p.stageViewsPerSec)} (${p.stageSeconds.toFixed(1)} s; command ${p.wallSeconds.toFixed(0)} s)`,
        );
      }
      if (round % 2 === 0) await runIsolated();
      const i = isolated!;
      rounds.push({
        round,
        isolated: {
          imagesPerSec: i.imagesPerSec,
          stepMs: i.stepMs,
          loopImagesPerSec: i.loopImagesPerSec,
          threads: i.threads,
        },
        pipelines,
      });
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
  console.log(tables(rounds, opts.modes));
  if (opts.json) {
    const { json: _json, ...config } = opts;
    console.log(JSON.stringify({ config, machine, summary: summary(rounds, opts.modes), rounds }));
  }
}
