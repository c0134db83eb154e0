/**
 * Direct calls of TensorFlow ops through tfjs-node's backend, for the few training kernels where tfjs
 * composes many element-wise ops and TensorFlow has one fused kernel (batch norm and its gradient,
 * the ReLU gradient). Only used when the active backend is the native 'tensorflow' one; callers keep
 * a tfjs composition for the other backends.
 */
import { tf } from '../backend';

interface NativeAttr {
  name: string;
  type: number;
  value: unknown;
}

/** The parts of tfjs-node's NodeJSKernelBackend used here. */
interface NativeBackend {
  binding: {
    TF_ATTR_TYPE: number;
    TF_ATTR_FLOAT: number;
    TF_ATTR_STRING: number;
    TF_ATTR_BOOL: number;
    TF_FLOAT: number;
  };
  executeMultipleOutputs(
    name: string,
    attrs: NativeAttr[],
    inputs: tf.Tensor[],
    numOutputs: number,
  ): tf.Tensor[];
}

/**
 * Whether native TensorFlow ops are used: the active backend is tfjs-node's, and SIMCLR_NATIVE_OPS is
 * not '0' (that switch exists to compare against the plain tfjs compositions, bench/model-step.ts).
 */
export function hasNativeOps(): boolean {
  return tf.getBackend() === 'tensorflow' && process.env.SIMCLR_NATIVE_OPS !== '0';
}

function backend(): NativeBackend {
  if (!hasNativeOps())
    throw new Error(`native TensorFlow ops need the 'tensorflow' backend (active: '${tf.getBackend()}')`);
  return tf.backend() as unknown as NativeBackend;
}

/** Attribute builders, in the binding's attribute type codes. */
export const attr = {
  float32Type: (name: string): NativeAttr => ({
    name,
    type: backend().binding.TF_ATTR_TYPE,
    value: backend().binding.TF_FLOAT,
  }),
  float: (name: string, value: number): NativeAttr => ({
    name,
    type: backend().binding.TF_ATTR_FLOAT,
    value,
  }),
  string: (name: string, value: string): NativeAttr => ({
    name,
    type: backend().binding.TF_ATTR_STRING,
    value,
  }),
  bool: (name: string, value: boolean): NativeAttr => ({ name, type: backend().binding.TF_ATTR_BOOL, value }),
};

/** Runs the TensorFlow op `name`; the outputs are ordinary tfjs tensors (tracked by tidy). */
export function runNativeOp(
  name: string,
  attrs: NativeAttr[],
  inputs: tf.Tensor[],
  numOutputs: number,
): tf.Tensor[] {
  return backend().executeMultipleOutputs(name, attrs, inputs, numOutputs);
}
