/**
 * Linear evaluation ([SimCLR] Sec. 2.3 / App. B.6): a multinomial logistic regression trained on the
 * frozen features h of the training set, reported as top-1 / top-5 accuracy on the test set.
 *
 * - Features are standardised with the training set's per-dimension mean and standard deviation
 *   (x − μ) / σ (σ of a constant dimension is taken as 1), applied to train and test alike. This is a
 *   batch norm with frozen train statistics in front of the classifier: one learning rate then works
 *   for encoders whose feature scale differs (a random-init baseline, raw pixels, a trained ResNet),
 *   and it does not change which classifiers are representable.
 * - Logits = x W + b, W and b start at zero (the problem is convex, so zero is as good a start as any
 *   and makes the run exactly reproducible); loss = mean softmax cross-entropy.
 * - SGD with Nesterov momentum (App. B.6; ../optimizers.ts 'sgd'), L2 weight decay λ·W added to W's
 *   gradient (= λ·½‖W‖² in the loss, the reference's tf.nn.l2_loss; the bias is not decayed), peak learning rate = learningRate × batchSize / 256, decayed
 *   to 0 with a cosine over all steps, no warm-up (the reference's fine-tuning setting); mini-batches in
 *   an order drawn from `seed` each epoch, the last smaller batch included.
 *
 * @example
 *   const r = await linearEvaluation(train, test, config.evaluation.linear, { seed: config.seed });
 *   console.log(r.top1, r.top5, r.lossCurve.at(-1));
 */
import { tf } from '../backend';
import type { EvaluationConfig } from '../../config/schema';
import { createOptimizer } from '../optimizers';
import { effectiveLearningRate, learningRateAt } from '../schedule';
import { countInTopK } from './accuracy';
import { checkFeatureSet, countClasses, type FeatureSet } from './features';
import { mulberry32, shuffled } from './prng';

export { topKAccuracy } from './accuracy';

export type LinearEvalConfig = EvaluationConfig['linear'];

export interface LinearEvalOptions {
  /** Seeds the mini-batch order; the same seed and data give the same result. */
  seed: number;
  /** Default: 1 + the largest label in train or test. */
  numClasses?: number;
  /** Rows per matmul when scoring train and test (bounds memory); default 4096. */
  evalBatchSize?: number;
  /** Called after each epoch with its mean training loss; throwing aborts (and releases everything). */
  onEpoch?: (epoch: number, loss: number) => void;
}

export interface LinearEvalResult {
  /** Test-set accuracies in [0, 1]. */
  top1: number;
  top5: number;
  /** Top-1 on the training features (a gap to top1 shows over-fitting; near chance shows under-fitting). */
  trainTop1: number;
  /**
   * The test set's confusion matrix: confusion[true class][predicted class] counts, the prediction being
   * the highest logit (a tie goes to the lowest class index, so the diagonal can exceed top1 × numTest,
   * which counts ties as wrong). Its entries sum to numTest.
   */
  confusion: number[][];
  /** Per epoch: the mean softmax cross-entropy over its examples (the L2 term not included). */
  lossCurve: number[];
  epochs: number;
  steps: number;
  /** learningRate × batchSize / 256. */
  peakLearningRate: number;
  numClasses: number;
  numTrain: number;
  numTest: number;
}

/** Trains the linear classifier on `train` and scores it on `test`; no tensor outlives the call. */
export async function linearEvaluation(
  train: FeatureSet,
  test: FeatureSet,
  config: LinearEvalConfig,
  options: LinearEvalOptions,
): Promise<LinearEvalResult> {
  const numClasses = countClasses([train, test], options.numClasses);
  const numTrain = checkFeatureSet(train, 'train', numClasses);
  const numTest = checkFeatureSet(test, 'test', numClasses);
  if (numTrain === 0 || numTest === 0)
    throw new Error(`linearEvaluation: needs training and test examples (got ${numTrain} and ${numTest})`);
  if (train.dim !== test.dim)
    throw new Error(
      `linearEvaluation: train features have dimension ${train.dim}, test features ${test.dim}`,
    );
  const { epochs, batchSize, learningRate, weightDecay, momentum } = config;
  const dim = train.dim;
  const evalBatch = options.evalBatchSize ?? 4096;
  const peak = effectiveLearningRate(learningRate, batchSize, 'linear');
  const stepsPerEpoch = Math.ceil(numTrain / batchSize);
  const totalSteps = epochs * stepsPerEpoch;

  const x = tf.tensor2d(train.features, [numTrain, dim]);
  const [mean, std] = tf.tidy(() => {
    const m = tf.moments(x, 0);
    // A dimension that is constant on the training set carries no information: leave it unscaled.
    const s = tf.where(tf.greater(m.variance, 1e-12), tf.sqrt(m.variance), tf.onesLike(m.variance));
    return [m.mean, s];
  });
  const standardise = (t: tf.Tensor2D): tf.Tensor2D => tf.div(tf.sub(t, mean), std);
  const xTrain = tf.tidy(() => standardise(x));
  x.dispose();
  const yTrain = tf.tensor1d(Int32Array.from(train.labels), 'int32');
  // Inside tidy so the zeros the variables start from are released (a variable keeps its own reference).
  const w = tf.tidy(() => tf.variable(tf.zeros([dim, numClasses]), true));
  const b = tf.tidy(() => tf.variable(tf.zeros([numClasses]), true));
  const optimizer = createOptimizer('sgd', { momentum, weightDecay, trustCoefficient: 0, nesterov: true });
  const random = mulberry32(options.seed);
  let sum: tf.Scalar | undefined; // the running epoch loss, kept on the device until the epoch ends

  try {
    const lossCurve: number[] = [];
    let step = 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = shuffled(
        Array.from({ length: numTrain }, (_, i) => i),
        random,
      );
      sum = tf.scalar(0);
      for (let start = 0; start < numTrain; start += batchSize) {
        const idx = order.subarray(start, Math.min(start + batchSize, numTrain));
        const { value: cost, grads } = tf.variableGrads(
          () =>
            tf.tidy(() => {
              const i = tf.tensor1d(idx, 'int32');
              const logits = tf.add(tf.matMul(tf.gather(xTrain, i), w), b);
              return tf.losses.softmaxCrossEntropy(
                tf.oneHot(tf.gather(yTrain, i), numClasses),
                logits,
              ) as tf.Scalar;
            }),
          [w, b],
        );
        optimizer.applyGradients(
          [w, b],
          [grads[w.name], grads[b.name]],
          learningRateAt(step++, { peak, warmupSteps: 0, totalSteps }),
          ['linear/kernel', 'linear/bias'],
        );
        tf.dispose(grads);
        const previous: tf.Scalar = sum;
        sum = tf.tidy(() => tf.add(previous, tf.mul(cost, idx.length)) as tf.Scalar);
        cost.dispose();
        previous.dispose();
      }
      const loss = (await sum.data())[0] / numTrain;
      sum.dispose();
      sum = undefined;
      lossCurve.push(loss);
      options.onEpoch?.(epoch, loss);
      // Let heartbeats and cancellation through between epochs.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }

    const score = async (rows: tf.Tensor2D, labels: ArrayLike<number>, confusion?: number[][]) => {
      let top1 = 0;
      let top5 = 0;
      for (let start = 0; start < rows.shape[0]; start += evalBatch) {
        const n = Math.min(evalBatch, rows.shape[0] - start);
        const logits = tf.tidy(
          () => tf.add(tf.matMul(rows.slice([start, 0], [n, dim]), w), b) as tf.Tensor2D,
        );
        try {
          const y = Int32Array.from({ length: n }, (_, i) => labels[start + i]);
          top1 += countInTopK(logits, y, 1);
          top5 += countInTopK(logits, y, 5);
          if (confusion) {
            const predicted = tf.tidy(() => tf.argMax(logits, 1));
            const p = await predicted.data();
            predicted.dispose();
            for (let i = 0; i < n; i++) confusion[y[i]][p[i]]++;
          }
        } finally {
          logits.dispose();
        }
      }
      return { top1: top1 / rows.shape[0], top5: top5 / rows.shape[0] };
    };
    const trainScore = await score(xTrain, train.labels);
    const xTest = tf.tidy(() => standardise(tf.tensor2d(test.features, [numTest, dim])));
    const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
    const testScore = await score(xTest, test.labels, confusion).finally(() => xTest.dispose());
    return {
      top1: testScore.top1,
      top5: testScore.top5,
      trainTop1: trainScore.top1,
      confusion,
      lossCurve,
      epochs,
      steps: totalSteps,
      peakLearningRate: peak,
      numClasses,
      numTrain,
      numTest,
    };
  } finally {
    optimizer.dispose();
    tf.dispose([xTrain, yTrain, w, b, mean, std]);
    sum?.dispose();
  }
}
