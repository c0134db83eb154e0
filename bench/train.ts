/**
 * Training-step benchmark: the product's pretraining loop (simclr/train.ts, Pretrainer.runEpoch over the
 * batch source of simclr/view-batches.ts, as the pretrainEpoch activity runs it) on synthetic view
 * shards held in memory, so neither augmentation nor the store is part of the figure. Each step: uint8
 * views → [0, 1] floats, both views through encoder + head in training mode, NT-Xent, backward, LARS
 * update, loss read back (metricsEvery 1, as in the pipeline).
 *
 *   npm run bench -- train --model resnet-mini|resnet18-cifar --batch 256 --steps 10 [--warmup 2]
 *                          [--threads N] [--optimizer lars|sgd|adam] [--backend tensorflow|wasm|cpu] [--profile] [--json]
 *
 * Reports (the last line is the JSON object with --json):
 *   imagesPerSec  augmented views per second (2 × batch per step) at the median step time
 *   stepMs        median step time (and min): the step itself, as runEpoch times it (StepProgress.stepSeconds)
 *   stepsImagesPerSec  views per second over the sum of the measured steps' times (mean, not median):
 *                 the statistic of the pipeline's pretrain/time_steps_s, for `bench pipeline`
 *   loopImagesPerSec  views per second over the whole measured runEpoch call (views, steps, yields),
 *                 the figure the pipeline records as pretrain/images_per_sec
 *   viewsMs       median time a step waited for its batch (shard views already in memory: assembly only)
 *   mfu           model FLOP/s ÷ the fp32 GEMM peak the bench measures on the same backend (./peak.ts);
 *                 model FLOPs from the layer shapes (./flops.ts): 2·MACs forward, ×3 for forward + backward
 *   backend, threads
 * --profile adds where a step's time goes: forward, backward and update measured separately, and the
 * kernels that take most of the time (tf.profile).
 *
 * Threads: the product's choice (simclr/kernels/threads.ts, applied by initBackend before the native
 * backend loads: intra-op = every core this process may use, inter-op 1, unless the user set
 * SIMCLR_THREADS or TF_NUM_*_THREADS); --threads N is SIMCLR_THREADS=N.
 *
 * Backend: --backend picks the TensorFlow.js backend (simclr/backend.ts; default tensorflow, the native
 * one). wasm is the portable fallback with its backprop kernels from simclr/kernels/wasm-kernels.ts; in
 * Node it runs on one thread whatever --threads says, and the reported threads are the ones it uses.
 */
import { tf, initBackend, type BackendChoice } from '../simclr/backend';
import { experimentSchema } from '../config/schema';
import { resolveExperiment } from '../config/resolve';
import { createPretrainer, pretrainerOptionsFor, type Pretrainer, type ViewBatch } from '../simclr/train';
import { epochOrder, ViewBatchSource } from '../simclr/view-batches';
import { imagesToTensor } from '../simclr/images';
import { contrastiveAccuracy, ntXentLoss } from '../simclr/loss';
import { forwardMacsPerImage, ntXentMacs } from './flops';
import { measureMatmulPeak } from './peak';
import type { OptimizerName } from '../config/schema';

/** The benchmark models: the encoder, its stem and the input it is benchmarked at. */
export const BENCH_MODELS = {
  'resnet-mini': { encoder: 'resnet-mini', stem: 'cifar', imageSize: 28, channels: 1 },
  'resnet18-cifar': { encoder: 'resnet18', stem: 'cifar', imageSize: 32, channels: 3 },
} as const;
export type BenchModel = keyof typeof BENCH_MODELS;

export interface TrainBenchOptions {
  model: BenchModel;
  batch: number;
  steps: number;
  warmup: number;
  /** Intra-op threads (SIMCLR_THREADS); undefined: the product's default (./simclr/kernels/threads.ts). */
  threads?: number;
  optimizer: OptimizerName;
  profile: boolean;
  /** The TensorFlow.js backend to run on (default 'tensorflow'). */
  backend?: Exclude<BackendChoice, 'auto'>;
}

export interface TrainBenchResult {
  framework: string;
  model: BenchModel;
  inputShape: number[];
  batch: number;
  optimizer: OptimizerName;
  steps: number;
  imagesPerSec: number;
  stepMs: number;
  stepMsMin: number;
  /** Views per second over the whole measured runEpoch call, what the pipeline records (tfjs only). */
  loopImagesPerSec?: number;
  /** Views per second over the sum of the step times, as the pipeline's time_steps_s counts them (tfjs only). */
  stepsImagesPerSec?: number;
  /** Median time a step waited for its batch of views (tfjs only). */
  viewsMs?: number;
  modelGflopPerStep: number;
  achievedGflops: number;
  peakGflops: number;
  mfu: number;
  backend: string;
  threads: number;
  profile?: StepProfile;
}

export interface StepProfile {
  /** Fastest ms of each part over a few repetitions; update = full step − forward+backward, backward = forward+backward − forward. */
  forwardMs: number;
  backwardMs: number;
  updateMs: number;
  /** Kernels of one full step by total time, largest first. */
  topKernels: { kernel: string; ms: number; calls: number }[];
}

/** Backends the bench may run on: an explicit one, never `auto` (a figure must say what it measured). */
const BENCH_BACKENDS = ['tensorflow', 'tensorflow-gpu', 'wasm', 'cpu'] as const;

/** Parses `train` arguments; unknown flags and bad values are errors that name them. */
export function parseTrainArgs(argv: string[]): TrainBenchOptions & { json: boolean } {
  const out = {
    model: 'resnet-mini' as BenchModel,
    batch: 256,
    steps: 10,
    warmup: 2,
    threads: undefined as number | undefined,
    optimizer: 'lars' as OptimizerName,
    backend: 'tensorflow' as Exclude<BackendChoice, 'auto'>,
    profile: false,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench train: ${flag} needs a value`);
      return v;
    };
    const int = (min: number) => {
      const v = Number(value());
      if (!Number.isInteger(v) || v < min)
        throw new Error(`bench train: ${flag} must be an integer >= ${min} (got ${argv[i]})`);
      return v;
    };
    switch (flag) {
      case '--model': {
        const m = value();
        if (!(m in BENCH_MODELS))
          throw new Error(
            `bench train: --model must be one of ${Object.keys(BENCH_MODELS).join(', ')} (got ${m})`,
          );
        out.model = m as BenchModel;
        break;
      }
      case '--batch':
        out.batch = int(2);
        break;
      case '--steps':
        out.steps = int(1);
        break;
      case '--warmup':
        out.warmup = int(0);
        break;
      case '--threads':
        out.threads = int(1);
        break;
      case '--optimizer': {
        const o = value();
        if (!['lars', 'sgd', 'adam'].includes(o))
          throw new Error(`bench train: --optimizer must be lars, sgd or adam (got ${o})`);
        out.optimizer = o as OptimizerName;
        break;
      }
      case '--backend': {
        const b = value();
        if (!BENCH_BACKENDS.includes(b as (typeof BENCH_BACKENDS)[number]))
          throw new Error(`bench train: --backend must be one of ${BENCH_BACKENDS.join(', ')} (got ${b})`);
        out.backend = b as Exclude<BackendChoice, 'auto'>;
        break;
      }
      case '--profile':
        out.profile = true;
        break;
      case '--json':
        out.json = true;
        break;
      default:
        throw new Error(`bench train: unknown argument '${flag}'`);
    }
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Images per synthetic view shard (the last one holds the rest, so shard sizes differ as in a dataset). */
const SHARD_IMAGES = 1000;

/**
 * `images` pairs of pseudo-random views of `bytesPerImage` bytes, as view shards laid out like the
 * precompute's (view 1 of the shard's images, then view 2).
 */
function syntheticViewShards(images: number, bytesPerImage: number): Uint8Array[] {
  const shards: Uint8Array[] = [];
  let s = 1;
  for (let start = 0; start < images; start += SHARD_IMAGES) {
    const out = new Uint8Array(2 * Math.min(SHARD_IMAGES, images - start) * bytesPerImage);
    for (let i = 0; i < out.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out[i] = s >>> 24;
    }
    shards.push(out);
  }
  return shards;
}

/** Times forward only and forward + backward (no update) with the pretrainer's own model and loss. */
async function profileStep(
  p: Pretrainer,
  view1: Uint8Array,
  view2: Uint8Array,
  batch: number,
  repetitions: number,
): Promise<StepProfile> {
  const { imageShape, pretrain } = p.options;
  const vars = p.namedVariables().map((v) => v.variable);
  const forward = (x: tf.Tensor4D) => {
    const z = p.head.model.apply(p.encoder.apply(x, { training: true }) as tf.Tensor, {
      training: true,
    }) as tf.Tensor2D;
    const [z1, z2] = tf.split(z, 2, 0) as [tf.Tensor2D, tf.Tensor2D];
    return { z1, z2 };
  };
  const input = () =>
    tf.concat([imagesToTensor(view1, batch, imageShape), imagesToTensor(view2, batch, imageShape)], 0);
  const time = async (f: () => tf.Tensor): Promise<number> => {
    const t0 = performance.now();
    const t = f();
    await t.data();
    t.dispose();
    return performance.now() - t0;
  };
  const fwd: number[] = [];
  const fwdBwd: number[] = [];
  const full: number[] = [];
  for (let r = 0; r < repetitions; r++) {
    fwd.push(
      await time(() =>
        tf.tidy(() => {
          const { z1, z2 } = forward(input());
          return tf.stack([ntXentLoss(z1, z2, pretrain.temperature), contrastiveAccuracy(z1, z2)]);
        }),
      ),
    );
    fwdBwd.push(
      await time(() =>
        tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => {
            const { z1, z2 } = forward(input());
            return ntXentLoss(z1, z2, pretrain.temperature);
          }, vars);
          // Touch every gradient so none is left unevaluated (eager ops have run already; this is cheap).
          return tf.add(value, tf.addN(Object.values(grads).map((g) => tf.mul(tf.sum(g.slice(0, 1)), 0))));
        }),
      ),
    );
    const t0 = performance.now();
    await p.step(view1, view2, batch);
    full.push(performance.now() - t0);
  }
  const kernels = new Map<string, { ms: number; calls: number }>();
  const prof = await tf.profile(async () => {
    await p.step(view1, view2, batch);
  });
  for (const k of prof.kernels) {
    // `<op>__op` entries are op scopes that wrap the kernel listed next to them: counting both would count it twice.
    if (k.name.endsWith('__op')) continue;
    // Custom-gradient scopes: the forward of batch norm and ReLU, whose native TensorFlow kernels
    // (FusedBatchNormV3, and in the backward FusedBatchNormGradV3 / ReluGrad) bypass tfjs' kernel registry.
    const name =
      k.name === 'unnamed scope'
        ? tf.getBackend() === 'tensorflow'
          ? 'customGrad (native BN/ReLU fwd)'
          : 'customGrad (BN fwd)'
        : k.name;
    const entry = kernels.get(name) ?? { ms: 0, calls: 0 };
    entry.ms += Number(await k.kernelTimeMs);
    entry.calls++;
    kernels.set(name, entry);
  }
  // Minima: on a shared machine other work only ever adds time.
  const f = Math.min(...fwd);
  const fb = Math.min(...fwdBwd);
  return {
    forwardMs: round(f),
    backwardMs: round(fb - f),
    updateMs: round(Math.min(...full) - fb),
    topKernels: [...kernels.entries()]
      .map(([kernel, v]) => ({ kernel, ms: round(v.ms), calls: v.calls }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 12),
  };
}

function round(x: number, digits = 1): number {
  const m = 10 ** digits;
  return Math.round(x * m) / m;
}

/** Runs the benchmark in this process (the backend must not be loaded yet for `threads` to apply). */
export async function runTrainBench(opts: TrainBenchOptions): Promise<TrainBenchResult> {
  // The product's thread configuration (simclr/kernels/threads.ts, applied by initBackend), so the
  // isolated step runs with the pools the workers get; --threads is SIMCLR_THREADS.
  if (opts.threads !== undefined) process.env.SIMCLR_THREADS = String(opts.threads);
  const info = await initBackend(opts.backend ?? 'tensorflow');
  const spec = BENCH_MODELS[opts.model];
  const cfg = experimentSchema.parse({
    name: 'bench',
    dataset: { source: 'synthetic' },
    model: { encoder: spec.encoder, stem: spec.stem },
    pretrain: { batchSize: opts.batch, optimizer: opts.optimizer, epochs: 100, warmupEpochs: 0 },
  });
  const resolved = resolveExperiment(cfg, { imageSize: spec.imageSize, channels: spec.channels });
  const p = createPretrainer(pretrainerOptionsFor(resolved, 1000));
  try {
    const imageShape = p.options.imageShape;
    const bytesPerImage = spec.imageSize * spec.imageSize * spec.channels;
    const shards = syntheticViewShards((opts.warmup + opts.steps) * opts.batch, bytesPerImage);
    const shardCounts = shards.map((views) => views.length / (2 * bytesPerImage));
    const source = (firstBatch: number, batches: number) =>
      new ViewBatchSource({
        order: epochOrder(shardCounts, 0, 0),
        batchSize: opts.batch,
        imageShape,
        shardCounts,
        firstBatch,
        batches,
        fetchShard: async (shard) => shards[shard],
      });
    // The warm-up steps and the measured ones: one epoch of the same loop, in two calls.
    await p.runEpoch(source(0, opts.warmup));
    const times: number[] = [];
    const views: number[] = [];
    const summary = await p.runEpoch(source(opts.warmup, opts.warmup + opts.steps), {
      onStep: (s) => {
        times.push(1000 * s.stepSeconds);
        views.push(1000 * s.viewsSeconds);
      },
    });
    let profile: StepProfile | undefined;
    if (opts.profile) {
      const batches = source(0, 1)[Symbol.asyncIterator]();
      const { view1, view2 } = (await batches.next()).value as ViewBatch;
      await batches.return?.(undefined);
      profile = await profileStep(p, view1, view2, opts.batch, Math.max(3, Math.min(opts.steps, 8)));
    }
    const peak = await measureMatmulPeak();
    const macsPerImage = forwardMacsPerImage(p.encoder) + forwardMacsPerImage(p.head.model);
    const stepFlops =
      3 * 2 * (macsPerImage * 2 * opts.batch + ntXentMacs(opts.batch, resolved.model.head.outputDim));
    const stepMs = median(times);
    const achieved = stepFlops / (stepMs * 1e6);
    return {
      framework:
        info.name === 'wasm'
          ? `tfjs-backend-wasm ${tf.version.tfjs}`
          : info.name === 'cpu'
            ? `tfjs-cpu ${tf.version.tfjs}`
            : `tfjs-node ${tf.version.tfjs}`,
      model: opts.model,
      inputShape: [spec.imageSize, spec.imageSize, spec.channels],
      batch: opts.batch,
      optimizer: opts.optimizer,
      steps: opts.steps,
      imagesPerSec: Math.round((2 * opts.batch * 1000) / stepMs),
      stepMs: round(stepMs),
      stepMsMin: round(Math.min(...times)),
      loopImagesPerSec: Math.round((2 * summary.images) / summary.seconds),
      stepsImagesPerSec: Math.round((2 * summary.images * 1000) / times.reduce((a, b) => a + b, 0)),
      viewsMs: round(median(views), 2),
      modelGflopPerStep: round(stepFlops / 1e9, 3),
      achievedGflops: round(achieved),
      peakGflops: round(peak.gflops),
      mfu: round(achieved / peak.gflops, 3),
      backend: info.name,
      threads:
        info.name === 'wasm'
          ? (
              require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm')
            ).getThreadsCount()
          : (info.threads?.intraOp ?? 1),
      profile,
    };
  } finally {
    p.dispose();
  }
}

/** `bench train`: runs and prints a readable summary, then (with --json) the JSON line last. */
export async function trainCommand(argv: string[]): Promise<void> {
  const { json, ...opts } = parseTrainArgs(argv);
  const r = await runTrainBench(opts);
  if (!json) {
    console.log(
      `${r.framework} ${r.backend}, ${r.threads} threads: ${r.model} ${r.inputShape.join('×')}, batch ${r.batch}, ${r.optimizer}`,
    );
    console.log(
      `  step ${r.stepMs} ms (min ${r.stepMsMin}), ${r.imagesPerSec} views/s, ${r.achievedGflops} GFLOP/s of ${r.peakGflops} peak: MFU ${(100 * r.mfu).toFixed(1)} %`,
    );
    console.log(
      `  loop ${r.loopImagesPerSec} views/s over ${r.steps} steps (views ${r.viewsMs} ms a step: the pipeline's loop, views in memory)`,
    );
    if (r.profile) {
      console.log(
        `  forward ${r.profile.forwardMs} ms, backward ${r.profile.backwardMs} ms, update ${r.profile.updateMs} ms`,
      );
      for (const k of r.profile.topKernels)
        console.log(`    ${k.kernel.padEnd(28)} ${String(k.ms).padStart(8)} ms  ×${k.calls}`);
    }
  }
  console.log(JSON.stringify(r));
}
