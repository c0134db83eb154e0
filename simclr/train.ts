/**
 * SimCLR pretraining: one optimisation step and one epoch of steps ([SimCLR] Alg. 1).
 *
 * Each step takes the two augmented views of N images (uint8 NHWC, from ./augment.ts), runs the 2N
 * views as one batch through the encoder f and the projection head g in training mode (so batch norm
 * sees the statistics of both views together, like the reference's concatenated batch), computes the
 * NT-Xent loss of z = g(f(x)) (./loss.ts), takes the gradient of every trainable variable and applies
 * the optimiser (LARS by default, ./optimizers.ts) at the scheduled learning rate:
 *
 *     lr(step) = peak · step / warmupSteps                      during warm-up
 *              = peak · ½ (1 + cos(π (step − warmup) / (total − warmup)))   after (./schedule.ts)
 *     peak     = pretrain.effectiveLearningRate (base × batch/256 or base × √batch, config/resolve.ts)
 *     warmup   = round(warmupEpochs · stepsPerEpoch), total = epochs · stepsPerEpoch
 *
 * Nothing is read back from the device during a step except, when asked, one [2]-vector holding the
 * loss and the contrastive accuracy (runEpoch's `metricsEvery`); the steps not read are summed on the
 * device and read once at the end of the epoch.
 *
 * `runEpoch` is the one pretraining loop: the pipeline's pretrainEpoch activity, the tests and
 * `npm run bench -- train` all drive it, over the batch source of ./view-batches.ts.
 *
 * Initialisation is a pure function of `seed`: the encoder's initialisers are seeded from 2·seed and
 * the head's from 2·seed + 1 (each layer derives its own seed from those, see ./resnet.ts and
 * ./heads.ts), so two pretrainers built with the same options start bit-identical.
 *
 * @example
 *   const p = createPretrainer({ model: r.model, pretrain: r.pretrain, imageShape, stepsPerEpoch, seed: r.seed });
 *   const { loss } = await p.step(view1, view2, batchSize);
 *   const summary = await p.runEpoch(batches, { onStep: (s) => heartbeat(s), shouldStop: () => cancelled });
 */
import { tf } from './backend';
import { DivergedError } from '../contracts/errors';
import type { ResolvedExperiment } from '../config/resolve';
import { buildEncoder, representationDim } from './resnet';
import { buildProjectionHead, type ProjectionHead } from './heads';
import { contrastiveAccuracy, ntXentLoss } from './loss';
import { createOptimizer, type NamedSlot, type SimclrOptimizer } from './optimizers';
import { learningRateAt, type ScheduleOptions } from './schedule';
import { imagesToTensor, type ImageShape } from './images';

/** The model settings after config/resolve.ts (stem chosen, head.hiddenDim filled). */
export type ResolvedModelConfig = ResolvedExperiment['model'];
/** The pretraining settings after config/resolve.ts (temperature and effective learning rate filled). */
export type ResolvedPretrainConfig = ResolvedExperiment['pretrain'];

export interface PretrainerOptions {
  model: ResolvedModelConfig;
  pretrain: ResolvedPretrainConfig;
  /** Shape of one image (and of one view). */
  imageShape: ImageShape;
  /** Optimisation steps per epoch (the schedule is laid out in steps). */
  stepsPerEpoch: number;
  /** Seeds the initial weights. */
  seed: number;
}

/** What one step reports. */
export interface StepMetrics {
  /** Global step just completed (1 after the first step). */
  step: number;
  /** Learning rate the step used. */
  lr: number;
  /** NT-Xent loss of the step's batch. */
  loss: number;
  /** Fraction of the 2N views whose nearest other view is their positive. */
  contrastiveAcc: number;
}

/** Progress of runEpoch after each step; loss/contrastiveAcc only on the steps whose metrics were read. */
export interface StepProgress {
  step: number;
  lr: number;
  /** Steps done in this call of runEpoch. */
  stepsThisRun: number;
  images: number;
  loss?: number;
  contrastiveAcc?: number;
  /** Seconds this step waited for its batch from the batch source. */
  viewsSeconds: number;
  /** Seconds of the step itself: the device work, and the metrics read when this step read them. */
  stepSeconds: number;
}

/** One batch of pairs of views: `count` images, each view uint8 NHWC of the pretrainer's imageShape. */
export interface ViewBatch {
  view1: Uint8Array;
  view2: Uint8Array;
  count: number;
}

export interface RunEpochOptions {
  /**
   * Called after every step and awaited before the next one, so a caller can heartbeat or save a
   * checkpoint there (`if (p.step % every === 0) await saveCheckpoint(store, prefix, pretrainer)`);
   * the time it takes is `EpochSummary.time.onStepSeconds`.
   */
  onStep?: (progress: StepProgress) => void | Promise<void>;
  /**
   * Checked before every step, before its batch is pulled; true stops at that step boundary (the
   * model is left consistent, the batch source is closed).
   */
  shouldStop?: () => boolean;
  /**
   * Read the loss back every this many steps (default 1; 0 = never, only the epoch means at the end).
   * A read waits for the device (one sync per read); the steps in between are summed on the device.
   */
  metricsEvery?: number;
}

/** Where the seconds of a runEpoch call went (the rest is yielding to the event loop). */
export interface EpochTime {
  /** Waiting for the batch source: views not yet fetched or assembled when the step wanted them. */
  viewsSeconds: number;
  /** The steps: device work, metric reads and the final read of the epoch means. */
  stepsSeconds: number;
  /** The caller's onStep (heartbeats, checkpoint saves). */
  onStepSeconds: number;
}

export interface EpochSummary {
  /** Steps run by this call. */
  steps: number;
  /** Images (pairs of views) seen by this call. */
  images: number;
  /** Means over this call's steps (NaN when no step ran). */
  meanLoss: number;
  meanContrastiveAcc: number;
  /** True when shouldStop ended the call before the batches ran out. */
  stopped: boolean;
  /** Global step after the call. */
  globalStep: number;
  /** Wall time of the call. */
  seconds: number;
  time: EpochTime;
}

/** Pretraining diverged: the loss was not a finite number (contracts/errors.ts). */
export { DivergedError };

/** The schedule of `pretrain` for `stepsPerEpoch` (see the module comment). */
export function pretrainSchedule(pretrain: ResolvedPretrainConfig, stepsPerEpoch: number): ScheduleOptions {
  return {
    peak: pretrain.effectiveLearningRate,
    warmupSteps: Math.round(pretrain.warmupEpochs * stepsPerEpoch),
    totalSteps: pretrain.epochs * stepsPerEpoch,
  };
}

/** Encoder f, head g, optimiser and step counter of one pretraining run. */
export class Pretrainer {
  readonly encoder: tf.LayersModel;
  readonly head: ProjectionHead;
  readonly optimizer: SimclrOptimizer;
  readonly schedule: ScheduleOptions;
  private readonly variables: tf.Variable[];
  /** Stable names (`LayerVariable.originalName`), the same in every process: slots and checkpoints use them. */
  private readonly variableNames: string[];
  private step_ = 0;
  private disposed = false;

  constructor(readonly options: Readonly<PretrainerOptions>) {
    const { model, pretrain, imageShape, stepsPerEpoch, seed } = options;
    if (!Number.isInteger(stepsPerEpoch) || stepsPerEpoch <= 0) {
      throw new Error(`createPretrainer: stepsPerEpoch must be a positive integer (got ${stepsPerEpoch})`);
    }
    if (!Number.isInteger(seed) || seed < 0)
      throw new Error(`createPretrainer: seed must be a non-negative integer (got ${seed})`);
    this.encoder = buildEncoder({
      encoder: model.encoder,
      widthMultiplier: model.widthMultiplier,
      stem: model.stem,
      inputShape: [imageShape.height, imageShape.width, imageShape.channels],
      seed: 2 * seed,
    });
    this.head = buildProjectionHead(
      { ...model.head, seed: 2 * seed + 1 },
      representationDim(model.encoder, model.widthMultiplier),
    );
    const layerVariables = [...this.encoder.trainableWeights, ...this.head.model.trainableWeights];
    this.variables = layerVariables.map((w) => w.read() as tf.Variable);
    this.variableNames = layerVariables.map((w) => w.originalName);
    this.optimizer = createOptimizer(pretrain.optimizer, {
      momentum: pretrain.momentum,
      weightDecay: pretrain.weightDecay,
      trustCoefficient: pretrain.trustCoefficient,
    });
    this.schedule = pretrainSchedule(pretrain, stepsPerEpoch);
  }

  /** Optimisation steps completed since initialisation (restored from checkpoints). */
  get globalStep(): number {
    return this.step_;
  }

  /** The epoch the next step belongs to (0-based). */
  get epoch(): number {
    return Math.floor(this.step_ / this.options.stepsPerEpoch);
  }

  /** Learning rate of the next step. */
  get nextLearningRate(): number {
    return learningRateAt(this.step_, this.schedule);
  }

  /** One optimisation step on a batch of pairs (see the module comment); reads the loss back. */
  async step(view1: Uint8Array, view2: Uint8Array, count: number): Promise<StepMetrics> {
    const { lr, metrics } = this.stepOnDevice(view1, view2, count);
    try {
      const [loss, contrastiveAcc] = await metrics.data();
      this.checkFinite(loss, lr);
      return { step: this.step_, lr, loss, contrastiveAcc };
    } finally {
      metrics.dispose();
    }
  }

  /**
   * The one pretraining loop (product, tests and benchmarks run it): a step per batch until the batches
   * run out or `shouldStop()` says so (checked before each step, so a stop always lands on a step
   * boundary). Yields to the event loop after every step so heartbeats and cancellation are served.
   * Metrics read back (`metricsEvery`) are summed on the host; the others on the device, read once at
   * the end, so `metricsEvery: 0` costs no device sync until the epoch means.
   */
  async runEpoch(
    batches: AsyncIterable<ViewBatch> | Iterable<ViewBatch>,
    opts: RunEpochOptions = {},
  ): Promise<EpochSummary> {
    const metricsEvery = opts.metricsEvery ?? 1;
    if (!Number.isInteger(metricsEvery) || metricsEvery < 0)
      throw new Error(`runEpoch: metricsEvery must be a non-negative integer (got ${metricsEvery})`);
    const started = performance.now();
    const time: EpochTime = { viewsSeconds: 0, stepsSeconds: 0, onStepSeconds: 0 };
    const iterator: AsyncIterator<ViewBatch> | Iterator<ViewBatch> =
      Symbol.asyncIterator in batches ? batches[Symbol.asyncIterator]() : batches[Symbol.iterator]();
    let finished = false;
    let unread: tf.Tensor1D | undefined;
    let readLoss = 0;
    let readAcc = 0;
    let steps = 0;
    let images = 0;
    let stopped = false;
    try {
      for (;;) {
        if (opts.shouldStop?.()) {
          stopped = true;
          break;
        }
        let t = performance.now();
        const next = await iterator.next();
        const viewsSeconds = (performance.now() - t) / 1000;
        time.viewsSeconds += viewsSeconds;
        if (next.done) {
          finished = true;
          break;
        }
        const batch = next.value;
        t = performance.now();
        const { lr, metrics } = this.stepOnDevice(batch.view1, batch.view2, batch.count);
        steps++;
        images += batch.count;
        const progress: StepProgress = {
          step: this.step_,
          lr,
          stepsThisRun: steps,
          images,
          viewsSeconds,
          stepSeconds: 0,
        };
        if (metricsEvery > 0 && steps % metricsEvery === 0) {
          let values: Float32Array | Int32Array | Uint8Array;
          try {
            values = await metrics.data();
          } finally {
            metrics.dispose();
          }
          const [loss, contrastiveAcc] = values;
          this.checkFinite(loss, lr);
          readLoss += loss;
          readAcc += contrastiveAcc;
          progress.loss = loss;
          progress.contrastiveAcc = contrastiveAcc;
        } else if (unread) {
          const previous = unread;
          unread = tf.add(previous, metrics) as tf.Tensor1D;
          previous.dispose();
          metrics.dispose();
        } else {
          unread = metrics;
        }
        progress.stepSeconds = (performance.now() - t) / 1000;
        time.stepsSeconds += progress.stepSeconds;
        t = performance.now();
        await opts.onStep?.(progress);
        time.onStepSeconds += (performance.now() - t) / 1000;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const t = performance.now();
      const [lossSum, accSum] = unread ? await unread.data() : [0, 0];
      time.stepsSeconds += (performance.now() - t) / 1000;
      const meanLoss = steps > 0 ? (readLoss + lossSum) / steps : NaN;
      if (steps > 0) this.checkFinite(meanLoss, this.nextLearningRate);
      return {
        steps,
        images,
        meanLoss,
        meanContrastiveAcc: steps > 0 ? (readAcc + accSum) / steps : NaN,
        stopped,
        globalStep: this.step_,
        seconds: (performance.now() - started) / 1000,
        time,
      };
    } finally {
      unread?.dispose();
      // Closes the batch source (its finally blocks run) when the loop ends early.
      if (!finished) await iterator.return?.();
    }
  }

  /** Trainable variables with their stable names, in the optimiser's order. */
  namedVariables(): { name: string; variable: tf.Variable }[] {
    return this.variables.map((variable, i) => ({ name: this.variableNames[i], variable }));
  }

  /**
   * Restores the step counter and optimiser slots saved by a checkpoint (./checkpoint.ts); the
   * weights are loaded into `encoder` and `head.model` separately.
   */
  restoreState(state: { globalStep: number; slots: NamedSlot[] }): void {
    if (!Number.isInteger(state.globalStep) || state.globalStep < 0) {
      throw new Error(`restoreState: globalStep must be a non-negative integer (got ${state.globalStep})`);
    }
    this.optimizer.setSlots(state.slots);
    this.step_ = state.globalStep;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.optimizer.dispose();
    this.encoder.dispose();
    this.head.model.dispose();
  }

  /** The step itself; returns the [loss, contrastive accuracy] tensor without reading it. */
  private stepOnDevice(
    view1: Uint8Array,
    view2: Uint8Array,
    count: number,
  ): { lr: number; metrics: tf.Tensor1D } {
    if (this.disposed) throw new Error('Pretrainer: used after dispose()');
    if (!Number.isInteger(count) || count < 2)
      throw new Error(`Pretrainer.step: a batch needs at least 2 images to have negatives (got ${count})`);
    const { imageShape, pretrain } = this.options;
    const lr = learningRateAt(this.step_, this.schedule);
    const metrics = tf.tidy(() => {
      const x = imagesToTensor(concatViews(view1, view2), 2 * count, imageShape);
      let accuracy: tf.Scalar | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const h = this.encoder.apply(x, { training: true }) as tf.Tensor2D;
        const z = this.head.model.apply(h, { training: true }) as tf.Tensor2D;
        const [z1, z2] = tf.split(z, 2, 0) as [tf.Tensor2D, tf.Tensor2D];
        // Kept out of the gradient tape's tidy; released with this step's tidy below.
        accuracy = tf.keep(contrastiveAccuracy(z1, z2));
        return ntXentLoss(z1, z2, pretrain.temperature);
      }, this.variables);
      this.optimizer.applyGradients(
        this.variables,
        this.variables.map((v) => grads[v.name]),
        lr,
        this.variableNames,
      );
      const out = tf.stack([value, accuracy!]) as tf.Tensor1D;
      accuracy!.dispose();
      return out;
    });
    this.step_++;
    return { lr, metrics };
  }

  private checkFinite(loss: number, lr: number): void {
    if (!Number.isFinite(loss)) {
      throw new DivergedError(
        `pretraining diverged: the NT-Xent loss is ${loss} at global step ${this.step_} (learning rate ${lr.toPrecision(4)}); ` +
          'lower pretrain.learningRate or raise pretrain.warmupEpochs',
      );
    }
  }
}

/** The pretrainer options of a resolved experiment: its model, pretraining settings, image shape and seed. */
export function pretrainerOptionsFor(
  experiment: ResolvedExperiment,
  stepsPerEpoch: number,
): PretrainerOptions {
  const { imageSize, channels } = experiment.dataset;
  return {
    model: experiment.model,
    pretrain: experiment.pretrain,
    imageShape: { height: imageSize, width: imageSize, channels },
    stepsPerEpoch,
    seed: experiment.seed,
  };
}

/**
 * view1 then view2 in one buffer, so the 2N views become one tensor with one conversion (a byte copy
 * here is cheaper than converting twice and concatenating floats). Views that already lie back to back
 * in one buffer (./view-batches.ts assembles them so) are used as they are.
 */
function concatViews(view1: Uint8Array, view2: Uint8Array): Uint8Array {
  if (view1.length !== view2.length)
    throw new Error(`Pretrainer.step: view1 has ${view1.length} bytes, view2 ${view2.length}`);
  if (view1.buffer === view2.buffer && view2.byteOffset === view1.byteOffset + view1.byteLength)
    return new Uint8Array(view1.buffer, view1.byteOffset, 2 * view1.length);
  const both = new Uint8Array(view1.length + view2.length);
  both.set(view1, 0);
  both.set(view2, view1.length);
  return both;
}

/** Builds encoder, head and optimiser for `options`; see the module comment. */
export function createPretrainer(options: PretrainerOptions): Pretrainer {
  return new Pretrainer(options);
}
