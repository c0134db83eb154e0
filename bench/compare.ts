/**
 * tfjs next to PyTorch on the same pretraining step: `bench train` (./train.ts) and
 * bench/pytorch/train_bench.py (in PyTorch's default NCHW layout and in channels_last) with the same
 * model, batch, optimiser and thread count, each in its own process, alternated for `--rounds` rounds;
 * the best (lowest median step time) round of each is kept,
 * since on a shared machine other work can only slow a run down.
 *
 *   npm run bench -- compare [--model resnet-mini|resnet18-cifar|all] [--batch 256] [--steps 10]
 *                            [--threads N] [--rounds 2] [--json]
 *
 * The Python is $SIMCLR_BENCH_PYTHON, else ~/.cache/simclr/venv-bench/bin/python (made by
 * bench/pytorch/setup.sh).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { join } from 'node:path';
import { BENCH_MODELS, type BenchModel, type TrainBenchResult } from './train';

const ROOT = join(__dirname, '..');

function pythonPath(): string {
  const p =
    process.env.SIMCLR_BENCH_PYTHON ?? join(homedir(), '.cache', 'simclr', 'venv-bench', 'bin', 'python');
  if (!existsSync(p))
    throw new Error(
      `bench compare: no Python with torch at ${p}; run bash bench/pytorch/setup.sh (or set SIMCLR_BENCH_PYTHON)`,
    );
  return p;
}

/** Runs a benchmark child and returns the JSON object on its last stdout line. */
function runChild(command: string, args: string[], what: string): TrainBenchResult {
  const r = spawnSync(command, args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
    maxBuffer: 16 << 20,
  });
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{')) {
    throw new Error(
      `bench compare: ${what} failed (exit ${r.status}):\n${(r.stderr ?? '').trim().split('\n').slice(-8).join('\n')}`,
    );
  }
  return JSON.parse(last) as TrainBenchResult;
}

function best(results: TrainBenchResult[]): TrainBenchResult {
  return results.reduce((a, b) => (b.stepMs < a.stepMs ? b : a));
}

/**
 * The rows as a Markdown table. `MFU` divides by each framework's own GEMM peak; `MFU (machine)` by
 * the best peak either framework measured at that thread count, since their GEMM libraries differ
 * (e.g. MKL, behind torch.mm, takes its AVX2 path on AMD CPUs while oneDNN uses AVX-512).
 */
function table(rows: TrainBenchResult[]): string {
  const machinePeak = (threads: number) =>
    Math.max(...rows.filter((r) => r.threads === threads).map((r) => r.peakGflops));
  const head = [
    'model',
    'framework',
    'backend',
    'batch',
    'threads',
    'step ms',
    'views/s',
    'GFLOP/s',
    'peak GFLOP/s',
    'MFU',
    'MFU (machine)',
  ];
  const body = rows.map((r) => [
    r.model,
    r.framework,
    r.backend,
    String(r.batch),
    String(r.threads),
    r.stepMs.toFixed(1),
    String(r.imagesPerSec),
    r.achievedGflops.toFixed(1),
    r.peakGflops.toFixed(1),
    `${(100 * r.mfu).toFixed(1)} %`,
    `${((100 * r.achievedGflops) / machinePeak(r.threads)).toFixed(1)} %`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export async function compareCommand(argv: string[]): Promise<void> {
  let models: BenchModel[] = Object.keys(BENCH_MODELS) as BenchModel[];
  let batch = 256;
  let steps = 10;
  let threads = availableParallelism();
  let rounds = 2;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    const int = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1)
        throw new Error(`bench compare: ${flag} must be a positive integer (got ${value})`);
      return v;
    };
    if (flag === '--model') {
      i++;
      if (value === 'all') continue;
      if (!(value in BENCH_MODELS))
        throw new Error(
          `bench compare: --model must be all or one of ${Object.keys(BENCH_MODELS).join(', ')} (got ${value})`,
        );
      models = [value as BenchModel];
    } else if (flag === '--batch') batch = int();
    else if (flag === '--steps') steps = int();
    else if (flag === '--threads') threads = int();
    else if (flag === '--rounds') rounds = int();
    else if (flag === '--json') json = true;
    else throw new Error(`bench compare: unknown argument '${flag}'`);
  }
  const python = pythonPath();
  const common = ['--batch', String(batch), '--steps', String(steps), '--threads', String(threads)];
  const rows: TrainBenchResult[] = [];
  for (const model of models) {
    // PyTorch runs twice: its default NCHW layout and channels_last (NHWC, the layout tfjs uses).
    const runs = {
      tfjs: () =>
        runChild(
          process.execPath,
          ['--import', 'tsx', join('bench', 'main.ts'), 'train', '--model', model, ...common, '--json'],
          `tfjs ${model}`,
        ),
      pytorch: () =>
        runChild(
          python,
          [join('bench', 'pytorch', 'train_bench.py'), '--model', model, ...common],
          `pytorch ${model}`,
        ),
      'pytorch channels_last': () =>
        runChild(
          python,
          [join('bench', 'pytorch', 'train_bench.py'), '--model', model, ...common, '--channels-last'],
          `pytorch ${model} --channels-last`,
        ),
    };
    const results = new Map<string, TrainBenchResult[]>(Object.keys(runs).map((k) => [k, []]));
    for (let r = 0; r < rounds; r++) {
      const line: string[] = [];
      for (const [name, run] of Object.entries(runs)) {
        const result = run();
        results.get(name)!.push(result);
        line.push(`${name} ${result.stepMs} ms`);
      }
      process.stderr.write(`${model} round ${r + 1}/${rounds}: ${line.join(', ')}\n`);
    }
    for (const list of results.values()) rows.push(best(list));
  }
  console.log(table(rows));
  if (json) console.log(JSON.stringify(rows));
}
