/**
 * A checkpoint's model as plain Keras layers, loadable by a bare `tf.loadLayersModel` (Node, browser,
 * the Python converter) with no project code registered.
 *
 * The encoder and head are built from three layers of ours that make training fast (./kernels/):
 * SimclrBatchNorm (fused batch norm), SimclrInputConv (stem conv without input gradient) and
 * SimclrRelu (native ReLU gradient). In inference each one computes exactly what a standard layer
 * computes, with weights of the same names and shapes:
 *
 *     SimclrBatchNorm → BatchNormalization (axis −1, same ε, momentum, center/scale; gamma, beta,
 *                       moving_mean, moving_variance)   inference: tf.batchNorm with the moving statistics
 *     SimclrInputConv → Conv2D ('same' padding, no bias; kernel)
 *     SimclrRelu      → Activation('relu')
 *
 * so the rewrite changes the topology's class names and configs only; the weights are the
 * checkpoint's, bytes unchanged, loaded by name.
 *
 * @example
 *   const f = await loadPortableModel(store, `${checkpoint}/encoder`);   // standard layers only
 *   await f.save(blobStoreIOHandler(new FsBlobStore(outDir), 'encoder'));
 */
import { tf } from './backend';
import type { BlobStore } from '../storage/blob-store';
import { blobStoreIOHandler } from './checkpoint';

/** A layer entry of a Keras functional-model topology (model.json `modelTopology.config.layers[]`). */
interface LayerJson {
  class_name: string;
  name?: string;
  config: Record<string, unknown>;
  inbound_nodes?: unknown;
}

const zeros = { class_name: 'Zeros', config: {} };
const ones = { class_name: 'Ones', config: {} };

/** The standard layer (class name + Keras config, snake_case as model.json stores it) for one of ours. */
const STANDARD_EQUIVALENTS: Record<string, (config: Record<string, unknown>) => LayerJson> = {
  SimclrBatchNorm: (c) => ({
    class_name: 'BatchNormalization',
    config: {
      name: c.name,
      trainable: c.trainable ?? true,
      axis: -1,
      momentum: c.momentum,
      epsilon: c.epsilon,
      center: c.center ?? true,
      scale: c.scale ?? true,
      beta_initializer: zeros,
      gamma_initializer: c.zero_gamma ? zeros : ones,
      moving_mean_initializer: zeros,
      moving_variance_initializer: ones,
      beta_regularizer: null,
      gamma_regularizer: null,
      beta_constraint: null,
      gamma_constraint: null,
    },
  }),
  SimclrInputConv: (c) => {
    const k = Array.isArray(c.kernel_size) ? (c.kernel_size as number[]) : [c.kernel_size, c.kernel_size];
    const s = Array.isArray(c.strides) ? (c.strides as number[]) : [c.strides, c.strides];
    return {
      class_name: 'Conv2D',
      config: {
        name: c.name,
        trainable: c.trainable ?? true,
        filters: c.filters,
        kernel_size: k,
        strides: s,
        padding: 'same',
        data_format: 'channels_last',
        dilation_rate: [1, 1],
        activation: 'linear',
        use_bias: false,
        kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
        bias_initializer: zeros,
        kernel_regularizer: null,
        bias_regularizer: null,
        activity_regularizer: null,
        kernel_constraint: null,
        bias_constraint: null,
      },
    };
  },
  SimclrRelu: (c) => ({
    class_name: 'Activation',
    config: { name: c.name, trainable: c.trainable ?? true, activation: 'relu' },
  }),
};

/** The class names of the project's own layers, which a bare TensorFlow.js cannot load. */
export const PROJECT_LAYER_CLASSES = Object.keys(STANDARD_EQUIVALENTS);

/**
 * A copy of a layers-model topology (model.json's `modelTopology`) with every project layer replaced
 * by its standard equivalent; names and connections unchanged. Configs in model.json are snake_case
 * (tfjs converts a layer's getConfig() keys on save: kernelSize → kernel_size, zeroGamma → zero_gamma). Throws on a layer class of ours that
 * has no equivalent (a new custom layer must add one here before models with it can be exported).
 */
export function portableTopology(topology: object): object {
  const copy = JSON.parse(JSON.stringify(topology)) as { model_config?: unknown; config?: unknown };
  // model.json stores either the model itself ({class_name, config}) or {model_config, training_config}.
  const model = (copy.model_config ?? copy) as { config?: { layers?: LayerJson[] } };
  const layers = model.config?.layers;
  if (!Array.isArray(layers)) throw new Error('portableTopology: not a functional layers model (no layers)');
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    const standard = STANDARD_EQUIVALENTS[layer.class_name];
    if (standard) {
      const { class_name, config } = standard(layer.config);
      layers[i] = { ...layer, class_name, config };
    } else if (/^Simclr/.test(layer.class_name)) {
      throw new Error(
        `layer '${layer.name ?? '?'}' is of the project's class ${layer.class_name}, which has no standard equivalent in simclr/portable-model.ts`,
      );
    }
  }
  return copy;
}

/**
 * Loads the layers model saved under `prefix` in `store` (e.g. `<checkpoint>/encoder`) rewritten to
 * standard layers (portableTopology), with its saved weights loaded by name (strict: every weight must
 * fit). The result is an ordinary tf.LayersModel for inference; it saves as a model.json that a bare
 * TensorFlow.js loads.
 */
export async function loadPortableModel(store: BlobStore, prefix: string): Promise<tf.LayersModel> {
  const artifacts = await blobStoreIOHandler(store, prefix).load();
  return tf.loadLayersModel(
    tf.io.fromMemory({
      ...artifacts,
      modelTopology: portableTopology(artifacts.modelTopology as object),
    }),
    { strict: true },
  );
}
