/**
 * The encoder's first convolution (its stem), y = x ⋆ W with 'same' padding and no bias: the same
 * maths as tf.layers.conv2d, as a layer that trains faster because its input is the image batch,
 * which needs no gradient. tf.layers.conv2d runs tfjs' fused conv, whose custom gradient computes the
 * input gradient dx eagerly along with dW; tf.conv2d's registered gradient computes each input's
 * gradient lazily, only when asked, so here dx is never computed (on resnet-mini 28×28×1 at batch
 * 256 that was ~6 ms, ~3 % of a pretraining step).
 *
 * Weight: `<layer>/kernel`, [kernelSize, kernelSize, channels, filters], like tf.layers.conv2d's, so
 * checkpoints of either load into the other by name.
 */
import { tf } from '../backend';

export interface InputConvArgs {
  name: string;
  filters: number;
  /** k of the k×k kernel ([k, k] in a saved config). */
  kernelSize: number | number[];
  strides: number;
  /** Initial kernel; not saved (a loaded model's weights replace it), Glorot-uniform when absent. */
  kernelInitializer?: ReturnType<typeof tf.initializers.glorotUniform>;
}

export class InputConv extends tf.layers.Layer {
  static readonly className = 'SimclrInputConv';
  private readonly filters: number;
  private readonly kernelSize: number;
  private readonly strides: number;
  private readonly kernelInitializer: ReturnType<typeof tf.initializers.glorotUniform>;
  private kernel?: tf.LayerVariable;

  constructor(args: InputConvArgs) {
    super({ name: args.name });
    this.filters = args.filters;
    this.kernelSize = Array.isArray(args.kernelSize) ? args.kernelSize[0] : args.kernelSize;
    this.strides = args.strides;
    this.kernelInitializer = args.kernelInitializer ?? tf.initializers.glorotUniform({});
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[shape.length - 1];
    if (shape.length !== 4 || channels == null)
      throw new Error(
        `InputConv '${this.name}': expected [N, H, W, C] input with a known C (got [${shape}])`,
      );
    this.kernel = this.addWeight(
      'kernel',
      [this.kernelSize, this.kernelSize, channels, this.filters],
      'float32',
      this.kernelInitializer,
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const [n, h, w] = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const out = (size: number | null) => (size == null ? null : Math.ceil(size / this.strides));
    return [n, out(h), out(w), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const kernel = this.kernel!.read() as tf.Tensor4D;
      return tf.conv2d(x, kernel, this.strides, 'same');
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: [this.kernelSize, this.kernelSize],
      strides: this.strides,
    };
  }
}

tf.serialization.registerClass(InputConv);
