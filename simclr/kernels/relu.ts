/**
 * ReLU, max(0, x), as a function and a tfjs layer whose gradient on the native backend is TensorFlow's
 * ReluGrad kernel (dy where x > 0, else 0). tfjs' own ReLU gradient goes through its Step kernel,
 * which tfjs-node composes from four ops over the whole activation; in a ResNet's backward pass that
 * was the largest single cost after the convolutions.
 */
import { tf } from '../backend';
import { attr, hasNativeOps, runNativeOp } from './native-ops';

const nativeRelu = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  const y = tf.relu(x);
  // ReluGrad accepts the output as "features": relu(x) > 0 exactly where x > 0.
  save([y]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      runNativeOp('ReluGrad', [attr.float32Type('T')], [dy, saved[0]], 1)[0],
  };
});

/** max(0, x), with the native gradient kernel when available. */
export function relu<T extends tf.Tensor>(x: T): T {
  return (hasNativeOps() && x.dtype === 'float32' ? nativeRelu(x) : tf.relu(x)) as T;
}

/** A ReLU layer using `relu` (serialised as 'SimclrRelu'). */
export class Relu extends tf.layers.Layer {
  static readonly className = 'SimclrRelu';

  constructor(args: { name: string }) {
    super(args);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return relu(Array.isArray(inputs) ? inputs[0] : inputs);
  }
}

tf.serialization.registerClass(Relu);
