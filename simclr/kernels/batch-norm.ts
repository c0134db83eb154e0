/**
 * Batch normalisation (Ioffe & Szegedy 2015) as a tfjs layer, used by the encoder and the head:
 *
 *     training:  y = γ · (x − μ_B) / √(σ²_B + ε) + β,   moving ← m · moving + (1 − m) · batch statistic
 *     inference: y = γ · (x − moving_mean) / √(moving_variance + ε) + β
 *
 * over every axis but the last (channels). Ours rather than tf.layers.batchNormalization because that
 * one fails in training mode without β (`center: false`, needed by the projection head's output
 * layer, [SimCLRv2]) and because training speed depends on this layer (see normalizeInTraining).
 * Weights: `<layer>/gamma`, `<layer>/beta` (trainable, when scale / center), `<layer>/moving_mean`,
 * `<layer>/moving_variance` (not trainable), like Keras.
 */
import { tf } from '../backend';
import { attr, hasNativeOps, runNativeOp } from './native-ops';

export interface BatchNormArgs {
  name: string;
  /** m in the moving-average update (the reference: 0.9). */
  momentum: number;
  /** ε added to the variance (the reference: 1e-5). */
  epsilon: number;
  /** Learn β (default true). */
  center?: boolean;
  /** Learn γ (default true). */
  scale?: boolean;
  /** Start γ at 0 rather than 1 (last batch norm of a residual branch). */
  zeroGamma?: boolean;
}

/** Batch mean and unbiased batch variance (or, given the running averages, their updated values). */
type StatisticsSink = (mean: tf.Tensor1D, variance: tf.Tensor1D) => void;

/**
 * Running averages of a batch norm layer, updated in training as moving ← m · moving + (1 − m) · batch
 * statistic (m = `momentum`).
 */
export interface MovingStatistics {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
  momentum: number;
}

/**
 * y = γ (x − μ_B) / √(σ²_B + ε) + β with the statistics of x over every axis but the last, and
 * `onStatistics(μ_B, σ²_B · n/(n−1))` (the unbiased variance, as TensorFlow's fused batch norm feeds
 * its moving average). On the native backend this is TensorFlow's FusedBatchNormV3 with its own
 * gradient kernel (one kernel each way instead of ~20 element-wise tfjs ops over the activations);
 * elsewhere (or with `implementation: 'composed'`) it is composed from tfjs ops (composedBatchNorm).
 *
 * With `moving`, `onStatistics` receives the updated running averages m · moving + (1 − m) · statistic
 * instead of the batch statistics; the native kernel computes them itself (its
 * exponential_avg_factor = 1 − m), which saves the six small update ops per layer and step.
 */
export function normalizeInTraining(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
  onStatistics: StatisticsSink,
  implementation: 'auto' | 'composed' = 'auto',
  moving?: MovingStatistics,
): tf.Tensor {
  if (implementation === 'auto' && hasNativeOps() && (x.rank === 4 || x.rank === 2)) {
    const x4 =
      x.rank === 4
        ? (x as tf.Tensor4D)
        : (tf.reshape(x, [x.shape[0], 1, 1, x.shape[1] as number]) as tf.Tensor4D);
    const y = nativeFusedBatchNorm(epsilon, onStatistics, moving)(x4, gamma, beta);
    return x.rank === 4 ? y : tf.reshape(y, x.shape);
  }
  const sink: StatisticsSink = moving
    ? (mean, variance) => {
        const m = moving.momentum;
        onStatistics(
          tf.add(tf.mul(moving.mean, m), tf.mul(mean, 1 - m)),
          tf.add(tf.mul(moving.variance, m), tf.mul(variance, 1 - m)),
        );
      }
    : onStatistics;
  return composedBatchNorm(epsilon, sink)(x, gamma, beta);
}

/**
 * The tfjs composition, with the closed-form gradient of [Ioffe & Szegedy 2015] Sec. 3 instead of
 * tfjs' autodiff of moments + batchNorm (which tiles the per-channel factors to the activation's full
 * size; on the wasm backend that was the largest cost of a training step):
 *
 *     x̂ = (x − μ_B) · r,  r = 1/√(σ²_B + ε),  y = γ x̂ + β
 *     dβ = Σ dy,  dγ = Σ dy · x̂,  dx = γ r · (dy − dβ/n − x̂ · dγ/n)    (sums over the n = N·H·W positions)
 */
function composedBatchNorm(epsilon: number, onStatistics: StatisticsSink) {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, gamma, beta] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const n = x.size / x.shape[x.shape.length - 1];
    const { mean, variance } = tf.moments(x, axes);
    onStatistics(mean as tf.Tensor1D, tf.mul(variance, n / Math.max(1, n - 1)) as tf.Tensor1D);
    const r = tf.rsqrt(tf.add(variance, epsilon));
    const xHat = tf.mul(tf.sub(x, mean), r);
    save([xHat, gamma, r]);
    return {
      value: tf.add(tf.mul(xHat, gamma), beta),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xHat, gamma, r] = saved;
        const dBeta = tf.sum(dy, axes);
        const dGamma = tf.sum(tf.mul(dy, xHat), axes);
        const centred = tf.sub(tf.sub(dy, tf.div(dBeta, n)), tf.mul(xHat, tf.div(dGamma, n)));
        return [tf.mul(centred, tf.mul(gamma, r)), dGamma, dBeta];
      },
    };
  });
}

function fusedBatchNormAttrs(epsilon: number) {
  return [
    attr.float32Type('T'),
    attr.float32Type('U'),
    attr.float('epsilon', epsilon),
    attr.string('data_format', 'NHWC'),
    attr.bool('is_training', true),
  ];
}

/**
 * FusedBatchNormV3 in training mode. Without `moving` its mean/variance inputs are empty and it outputs
 * the batch statistics; with them and exponential_avg_factor f = 1 − m it outputs
 * (1 − f) · moving + f · statistic, the updated running averages.
 */
function nativeFusedBatchNorm(epsilon: number, onStatistics: StatisticsSink, moving?: MovingStatistics) {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, gamma, beta] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const [meanIn, varianceIn] = moving ? [moving.mean, moving.variance] : [tf.zeros([0]), tf.zeros([0])];
    const attrs = [
      ...fusedBatchNormAttrs(epsilon),
      attr.float('exponential_avg_factor', moving ? 1 - moving.momentum : 1),
    ];
    // Outputs: y, mean, variance (batch statistics with unbiased variance, or the updated running
    // averages), and three reserve spaces for the gradient.
    const [y, mean, variance, reserve1, reserve2, reserve3] = runNativeOp(
      'FusedBatchNormV3',
      attrs,
      [x, gamma, beta, meanIn, varianceIn],
      6,
    );
    onStatistics(mean as tf.Tensor1D, variance as tf.Tensor1D);
    save([x, gamma, reserve1, reserve2, reserve3]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [dx, dGamma, dBeta] = runNativeOp(
          'FusedBatchNormGradV3',
          fusedBatchNormAttrs(epsilon),
          [dy, ...saved],
          5,
        );
        return [dx, dGamma, dBeta];
      },
    };
  });
}

export class BatchNorm extends tf.layers.Layer {
  static readonly className = 'SimclrBatchNorm';
  private readonly momentum: number;
  private readonly epsilon: number;
  private readonly center: boolean;
  private readonly scale: boolean;
  private readonly zeroGamma: boolean;
  private gamma?: tf.LayerVariable;
  private beta?: tf.LayerVariable;
  private movingMean!: tf.LayerVariable;
  private movingVariance!: tf.LayerVariable;

  constructor(args: BatchNormArgs) {
    super({ name: args.name });
    this.momentum = args.momentum;
    this.epsilon = args.epsilon;
    this.center = args.center ?? true;
    this.scale = args.scale ?? true;
    this.zeroGamma = args.zeroGamma ?? false;
    this.supportsMasking = true;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[shape.length - 1];
    if (channels == null)
      throw new Error(`BatchNorm '${this.name}': the channel axis must have a known size`);
    if (this.scale)
      this.gamma = this.addWeight(
        'gamma',
        [channels],
        'float32',
        tf.initializers[this.zeroGamma ? 'zeros' : 'ones'](),
      );
    if (this.center) this.beta = this.addWeight('beta', [channels], 'float32', tf.initializers.zeros());
    this.movingMean = this.addWeight(
      'moving_mean',
      [channels],
      'float32',
      tf.initializers.zeros(),
      undefined,
      false,
    );
    this.movingVariance = this.addWeight(
      'moving_variance',
      [channels],
      'float32',
      tf.initializers.ones(),
      undefined,
      false,
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { [key: string]: any }): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const gamma = this.gamma?.read() as tf.Tensor1D | undefined;
      const beta = this.beta?.read() as tf.Tensor1D | undefined;
      if (!kwargs.training) {
        return tf.batchNorm(
          x,
          this.movingMean.read() as tf.Tensor1D,
          this.movingVariance.read() as tf.Tensor1D,
          beta,
          gamma,
          this.epsilon,
        );
      }
      const channels = x.shape[x.shape.length - 1] as number;
      const moving: MovingStatistics = {
        mean: this.movingMean.read() as tf.Tensor1D,
        variance: this.movingVariance.read() as tf.Tensor1D,
        momentum: this.momentum,
      };
      const onMoving = (mean: tf.Tensor1D, variance: tf.Tensor1D) => {
        this.movingMean.write(mean);
        this.movingVariance.write(variance);
      };
      return normalizeInTraining(
        x,
        gamma ?? tf.ones([channels]),
        beta ?? tf.zeros([channels]),
        this.epsilon,
        onMoving,
        'auto',
        moving,
      );
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      momentum: this.momentum,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      zeroGamma: this.zeroGamma,
    };
  }
}

tf.serialization.registerClass(BatchNorm);
