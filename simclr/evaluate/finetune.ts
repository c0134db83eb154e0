/**
 * Semi-supervised fine-tuning ([SimCLR] Sec. 6 / App. B.5): the pretrained encoder, optionally with the
 * first `fromHeadLayer` stages of its projection head ([SimCLRv2] Sec. 2 fine-tunes from the first head
 * layer), plus a new linear classifier, all trained end to end on the labelled subset (the caller picks
 * the class-balanced 1 % / 10 % indices), then scored top-1 / top-5 on the test set.
 *
 * - The pretrained models are copied (topology + weights through an in-memory save/load); the
 *   originals are never modified.
 * - Classifier: dense layer, kernel N(0, 0.01²) as the reference's supervised head, bias 0.
 * - Loss: mean softmax cross-entropy. The optimiser is `config.optimizer` from ../optimizers.ts, with
 *   Nesterov momentum for 'sgd' (the paper's choice, App. B.5) and 'lars'; L2 weight decay skips biases
 *   and batch-norm parameters (the paper uses weightDecay 0 here).
 * - Peak learning rate = learningRate × batchSize / 256 (0.05 ×
 *   4096/256 = 0.8 in the paper), cosine decay to 0 over all steps, no warm-up; batch norm in training
 *   mode (batch statistics, moving averages updated) as in the reference.
 * - Augmentation: random crop with zero padding + horizontal flip only (./crop-flip.ts).
 * - Batch order and augmentation draws come from `seed`.
 * - Given a random-init encoder, the same loop is supervised training from scratch: the baselines that
 *   fine-tuning (same labels) and linear evaluation (all labels) are judged against.
 *
 * @example
 *   const r = await fineTune({ encoder, config: config.fineTune, train, trainIndices: onePercent, test, seed: config.seed });
 *   console.log(r.top1, r.top5);
 */
import { tf } from '../backend';
import type { FineTuneConfig } from '../../config/schema';
import { imagesToTensor, type ImageShape } from '../images';
import { PAPER_DEFAULTS } from '../../config/defaults';
import { createOptimizer, type SimclrOptimizer } from '../optimizers';
import { effectiveLearningRate, learningRateAt } from '../schedule';
import { countInTopK } from './accuracy';
import { cropFlip, defaultPadding, drawCropFlip } from './crop-flip';
import { countClasses } from './features';
import { mulberry32, shuffled } from './prng';

/** `count` uint8 NHWC images with one class index each. */
export interface LabelledImages {
  pixels: Uint8Array;
  labels: ArrayLike<number>;
  count: number;
  shape: ImageShape;
}

/**
 * A labelled set read in parts (a dataset split, shard by shard), never as one buffer: a test split of
 * ImageNet at 224 px is 7.5 GB, over what one typed array holds. `parts` is called for each scoring.
 */
export interface LabelledParts {
  count: number;
  shape: ImageShape;
  parts: () => AsyncIterable<Omit<LabelledImages, 'shape'>>;
}

export interface FineTuneOptions {
  /** Pretrained encoder f(·): images [N, h, w, c] in [0, 1] → h [N, d]. Copied, never modified. */
  encoder: tf.LayersModel;
  /**
   * The projection head as its stages g₁ … g_L, each a model [N, d_k] → [N, d_{k+1}] (dense, batch norm,
   * ReLU), as `ProjectionHead.headStages()` (../heads.ts) gives them. The first `config.fromHeadLayer`
   * are copied and fine-tuned between the encoder and the classifier; unused when fromHeadLayer is 0.
   */
  headStages?: tf.LayersModel[];
  config: FineTuneConfig;
  /** All training images; only those at `trainIndices` are used, with their labels. */
  train: LabelledImages;
  /** The labelled subset (e.g. a class-balanced 1 % of the training set), indices into `train`. */
  trainIndices: ArrayLike<number>;
  /** Scored after training (and before it with measureInitialAccuracy); whole, or in parts. */
  test: LabelledImages | LabelledParts;
  /** Seeds the classifier's initialisation, the batch order and the crop/flip draws (an integer ≥ 0). */
  seed: number;
  /** Default: 1 + the largest label in train or test. */
  numClasses?: number;
  /** Crop padding in pixels; default side / 8 (4 px at 32 px). */
  padding?: number;
  /** Images per forward pass when scoring; default config.batchSize. */
  evalBatchSize?: number;
  /** Also score the test set before the first step (result.initialTop1), as the untrained baseline. */
  measureInitialAccuracy?: boolean;
  /** Called after each epoch with its mean training loss; throwing aborts (and releases everything). */
  onEpoch?: (epoch: number, loss: number) => void;
  /** Called after each optimisation step (1-based) with the total, e.g. to heartbeat; throwing aborts. */
  onStep?: (step: number, totalSteps: number) => void;
}

export interface FineTuneResult {
  /** Test-set accuracies in [0, 1]. */
  top1: number;
  top5: number;
  /** Test top-1 before training, when measureInitialAccuracy was set. */
  initialTop1?: number;
  /** Per epoch: the mean softmax cross-entropy over its examples (the L2 term not included). */
  lossCurve: number[];
  epochs: number;
  steps: number;
  /** learningRate × batchSize / 256. */
  peakLearningRate: number;
  numLabelled: number;
  numTest: number;
  numClasses: number;
  fromHeadLayer: number;
}

/** Fine-tunes copies of the pretrained models with a new classifier and scores them; no tensor outlives the call. */
export async function fineTune(options: FineTuneOptions): Promise<FineTuneResult> {
  const { encoder, config, train, test, seed } = options;
  const { epochs, batchSize, learningRate, momentum, weightDecay, fromHeadLayer } = config;
  const stages = options.headStages ?? [];
  if (fromHeadLayer > stages.length) {
    throw new Error(
      `fineTune: fineTune.fromHeadLayer is ${fromHeadLayer} but ${stages.length} projection-head stages were given`,
    );
  }
  checkImages(train, 'train');
  if (!('parts' in test)) checkImages(test, 'test');
  const shape = train.shape;
  if (
    shape.height !== test.shape.height ||
    shape.width !== test.shape.width ||
    shape.channels !== test.shape.channels
  ) {
    throw new Error(
      `fineTune: train images are ${describe(train.shape)} but test images are ${describe(test.shape)}`,
    );
  }
  const inputShape = encoder.inputs[0].shape;
  if (
    [inputShape[1], inputShape[2], inputShape[3]].some(
      (s, i) => s != null && s !== [shape.height, shape.width, shape.channels][i],
    )
  ) {
    throw new Error(
      `fineTune: encoder '${encoder.name}' takes inputs [${inputShape.join(', ')}] but the images are ${describe(shape)}`,
    );
  }
  const numClasses = countClasses('parts' in test ? [train] : [train, test], options.numClasses);
  const indices = Int32Array.from(options.trainIndices);
  if (indices.length === 0) throw new Error('fineTune: trainIndices is empty (no labelled images)');
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= train.count)
      throw new Error(`fineTune: train index ${i} is outside [0, ${train.count})`);
    const y = train.labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= numClasses)
      throw new Error(`fineTune: label ${y} of train image ${i} is not a class index in [0, ${numClasses})`);
  }
  if (test.count === 0) throw new Error('fineTune: no test images');
  const padding = options.padding ?? defaultPadding(shape.height, shape.width);
  const evalBatch = options.evalBatchSize ?? batchSize;
  const peak = effectiveLearningRate(learningRate, batchSize, 'linear');
  const stepsPerEpoch = Math.ceil(indices.length / batchSize);
  const totalSteps = epochs * stepsPerEpoch;
  if (!Number.isInteger(seed) || seed < 0)
    throw new Error(`fineTune: seed must be an integer >= 0 (got ${seed})`);
  const random = mulberry32(seed);

  const copies: tf.LayersModel[] = [];
  let model: tf.LayersModel | undefined;
  let optimizer: SimclrOptimizer | undefined;
  let sum: tf.Scalar | undefined;
  try {
    for (const m of [encoder, ...stages.slice(0, fromHeadLayer)]) copies.push(await copyModel(m));
    const input = tf.input({ shape: [shape.height, shape.width, shape.channels] });
    let x = input;
    for (const m of copies) x = m.apply(x) as tf.SymbolicTensor;
    const classifier = tf.layers.dense({
      units: numClasses,
      // seed + 1: tfjs treats a seed of 0 as "no seed" (rand_util: `seed ? seed : Math.random()`).
      kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.01, seed: seed + 1 }),
      biasInitializer: 'zeros',
      name: 'finetune_classifier',
    });
    model = tf.model({ inputs: input, outputs: classifier.apply(x) as tf.SymbolicTensor, name: 'finetune' });
    const net = model;
    const variables = net.trainableWeights.map((w) => w.read() as tf.Variable);

    const initialTop1 = options.measureInitialAccuracy
      ? (await scoreSet(net, test, evalBatch, numClasses)).top1
      : undefined;
    const opt = createOptimizer(config.optimizer, {
      momentum,
      weightDecay,
      trustCoefficient: PAPER_DEFAULTS.pretrain.trustCoefficient,
      nesterov: true,
    });
    optimizer = opt;
    const lossCurve: number[] = [];
    let step = 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = shuffled(indices, random);
      sum = tf.scalar(0);
      for (let start = 0; start < order.length; start += batchSize) {
        const batch = order.subarray(start, Math.min(start + batchSize, order.length));
        const draws = drawCropFlip(batch.length, padding, random);
        const pixels = gatherImages(train, batch);
        const labels = Int32Array.from(batch, (i) => train.labels[i]);
        const { value: cost, grads } = tf.variableGrads(
          () =>
            tf.tidy(() => {
              const images = cropFlip(imagesToTensor(pixels, batch.length, shape), padding, draws);
              const logits = net.apply(images, { training: true }) as tf.Tensor2D;
              return tf.losses.softmaxCrossEntropy(
                tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses),
                logits,
              ) as tf.Scalar;
            }),
          variables,
        );
        try {
          const missing = variables.find((v) => !grads[v.name]);
          if (missing) throw new Error(`fineTune: variable '${missing.name}' gets no gradient from the loss`);
          opt.applyGradients(
            variables,
            variables.map((v) => grads[v.name]),
            learningRateAt(step++, { peak, warmupSteps: 0, totalSteps }),
          );
        } catch (err) {
          cost.dispose();
          throw err;
        } finally {
          tf.dispose(grads);
        }
        const previous: tf.Scalar = sum;
        sum = tf.tidy(() => tf.add(previous, tf.mul(cost, batch.length)) as tf.Scalar);
        cost.dispose();
        previous.dispose();
        options.onStep?.(step, totalSteps);
        // Let heartbeats and cancellation through between steps (an epoch of a large set takes minutes).
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const loss = (await sum.data())[0] / indices.length;
      sum.dispose();
      sum = undefined;
      lossCurve.push(loss);
      options.onEpoch?.(epoch, loss);
    }
    const { top1, top5 } = await scoreSet(net, test, evalBatch, numClasses);
    return {
      top1,
      top5,
      ...(initialTop1 === undefined ? {} : { initialTop1 }),
      lossCurve,
      epochs,
      steps: totalSteps,
      peakLearningRate: peak,
      numLabelled: indices.length,
      numTest: test.count,
      numClasses,
      fromHeadLayer,
    };
  } finally {
    sum?.dispose();
    optimizer?.dispose();
    // Disposing the outer model releases the nested copies too; without it they are released one by one.
    if (model) model.dispose();
    else for (const m of copies) m.dispose();
  }
}

/** A trainable deep copy of `model` (topology and weights, through an in-memory save and load). */
export async function copyModel(model: tf.LayersModel): Promise<tf.LayersModel> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts) throw new Error(`copyModel: saving model '${model.name}' produced no artifacts`);
  const copy = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  copy.trainable = true;
  return copy;
}

/** Top-1 / top-5 of `model` on a whole set, or on a set in parts (one part in memory at a time). */
async function scoreSet(
  model: tf.LayersModel,
  set: LabelledImages | LabelledParts,
  batchSize: number,
  numClasses: number,
): Promise<{ top1: number; top5: number }> {
  if (!('parts' in set)) {
    const hits = topKHits(model, set, batchSize, numClasses);
    return { top1: hits.top1 / set.count, top5: hits.top5 / set.count };
  }
  let top1 = 0;
  let top5 = 0;
  let seen = 0;
  for await (const part of set.parts()) {
    const images = { ...part, shape: set.shape };
    checkImages(images, 'test');
    const hits = topKHits(model, images, batchSize, numClasses);
    top1 += hits.top1;
    top5 += hits.top5;
    seen += part.count;
    // Between parts: heartbeats and cancellation get through.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (seen !== set.count) throw new Error(`fineTune: the test parts hold ${seen} images, not ${set.count}`);
  return { top1: top1 / seen, top5: top5 / seen };
}

/** How many images of `set` have their label in the top 1 / top 5 of `model` (inference mode). */
function topKHits(
  model: tf.LayersModel,
  set: LabelledImages,
  batchSize: number,
  numClasses: number,
): { top1: number; top5: number } {
  let top1 = 0;
  let top5 = 0;
  const bytes = imageBytes(set.shape);
  for (let start = 0; start < set.count; start += batchSize) {
    const n = Math.min(batchSize, set.count - start);
    const logits = tf.tidy(
      () =>
        model.predict(
          imagesToTensor(set.pixels.subarray(start * bytes, (start + n) * bytes), n, set.shape),
        ) as tf.Tensor2D,
    );
    try {
      const labels = Int32Array.from({ length: n }, (_, i) => set.labels[start + i]);
      for (const y of labels) {
        if (!Number.isInteger(y) || y < 0 || y >= numClasses)
          throw new Error(`fineTune: test label ${y} is not a class index in [0, ${numClasses})`);
      }
      top1 += countInTopK(logits, labels, 1);
      top5 += countInTopK(logits, labels, 5);
    } finally {
      logits.dispose();
    }
  }
  return { top1, top5 };
}

function gatherImages(set: LabelledImages, indices: Int32Array): Uint8Array {
  const bytes = imageBytes(set.shape);
  const out = new Uint8Array(indices.length * bytes);
  indices.forEach((i, j) => out.set(set.pixels.subarray(i * bytes, (i + 1) * bytes), j * bytes));
  return out;
}

function checkImages(set: LabelledImages, name: string): void {
  if (!Number.isInteger(set.count) || set.count < 0)
    throw new Error(`fineTune: ${name} count must be a non-negative integer (got ${set.count})`);
  if (set.pixels.length !== set.count * imageBytes(set.shape)) {
    throw new Error(
      `fineTune: ${set.pixels.length} ${name} bytes for ${set.count} images of ${describe(set.shape)} (expected ${set.count * imageBytes(set.shape)})`,
    );
  }
  if (set.labels.length !== set.count)
    throw new Error(`fineTune: ${set.labels.length} ${name} labels for ${set.count} images`);
}

function imageBytes(shape: ImageShape): number {
  return shape.height * shape.width * shape.channels;
}

function describe(shape: ImageShape): string {
  return `${shape.height}x${shape.width}x${shape.channels}`;
}
