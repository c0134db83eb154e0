/**
 * The projection head g(·) that maps the representation h to the space z where the contrastive loss
 * is applied ([SimCLR] Sec. 2.1, z = g(h)). Sec. 4.2: a non-linear head improves the representation
 * h by > 10 % over a linear one, which beats no head.
 *
 * - 'none':      z = h (identity).
 * - 'linear':    z = W h, one dense layer (with batch norm and no bias when `batchNorm`, as the
 *                reference's LinearLayer(use_bias=False, use_bn=True)).
 * - 'nonlinear': `layers` dense layers; between them batch norm + ReLU, on the output batch norm without
 *                ReLU and without centring ([SimCLRv2] / the reference's model.py ProjectionHead). Dense
 *                layers that feed a batch norm have no bias (the batch norm's β replaces it). Without
 *                `batchNorm`: dense with bias, ReLU between layers. Hidden width: `hiddenDim`.
 *
 * `layerOutputs(h)` returns the input of every dense layer and finally z: element k is what
 * fine-tuning from head layer k ([SimCLRv2] Sec. 2, `fromHeadLayer`) puts a classifier on.
 * `headStages()` gives the same cut as models: stage k = dense k (+ batch norm) (+ ReLU), sharing the
 * head's layers and weights, so g = g_{L−1} ∘ … ∘ g_0; fine-tuning from head layer k copies and trains
 * the encoder and stages 0 … k−1 under a new classifier (./evaluate/finetune.ts).
 *
 * @example
 *   const g = buildProjectionHead({ ...cfg.model.head, hiddenDim: 512 }, 512);
 *   const z = g.model.apply(h, { training: true }) as tf.Tensor2D; // [N, 128]
 */
import { tf } from './backend';
import type { HeadConfig } from '../config/schema';
import { BatchNorm } from './kernels/batch-norm';
import { Relu } from './kernels/relu';
import { BATCH_NORM_EPSILON, BATCH_NORM_MOMENTUM } from './resnet';

export interface ProjectionHead {
  /** [N, inputDim] → z [N, outputDim]. */
  model: tf.LayersModel;
  /** Number of dense layers (0 for 'none'). */
  numLayers: number;
  /** [input of layer 0 (= h), input of layer 1, …, input of layer L−1, z]: L + 1 tensors. Call inside tf.tidy. */
  layerOutputs(x: tf.Tensor2D, training: boolean): tf.Tensor2D[];
  /**
   * The head's stages as L new models g_0 … g_{L−1} (none for 'none'): g_k maps [N, d_k] → [N, d_{k+1}]
   * through dense k, its batch norm and ReLU exactly as inside the head, and chaining them all equals
   * `model`. They share the head's layers, so they see its weights as they are now and later (a
   * checkpoint restored into `model` included), and training them trains the head. The caller owns the
   * returned models and disposes them; the shared weights are released once both the stage and the
   * head model are disposed, in either order.
   */
  headStages(): tf.LayersModel[];
}

type HeadOptions = Pick<HeadConfig, 'type' | 'layers' | 'outputDim' | 'batchNorm'> & {
  hiddenDim: number;
  seed?: number;
};

/** Builds the head; `name` prefixes every layer name (default 'head'). */
export function buildProjectionHead(cfg: HeadOptions, inputDim: number, name = 'head'): ProjectionHead {
  if (!Number.isInteger(inputDim) || inputDim <= 0)
    throw new Error(`buildProjectionHead: inputDim must be a positive integer (got ${inputDim})`);
  const numLayers = cfg.type === 'none' ? 0 : cfg.type === 'linear' ? 1 : cfg.layers;
  if (!Number.isInteger(numLayers) || numLayers < 1) {
    if (cfg.type !== 'none')
      throw new Error(`buildProjectionHead: head.layers must be a positive integer (got ${cfg.layers})`);
  }
  let seedCounter = 0;
  // The reference initialises head dense layers with N(0, 0.01²).
  const init = () =>
    tf.initializers.randomNormal({
      mean: 0,
      stddev: 0.01,
      seed: cfg.seed === undefined ? undefined : cfg.seed * 1000 + seedCounter++,
    });

  // Each dense layer with what follows it, as an ordered list of layers per stage.
  const stages: tf.layers.Layer[][] = [];
  for (let k = 0; k < numLayers; k++) {
    const last = k === numLayers - 1;
    const units = last ? cfg.outputDim : cfg.hiddenDim;
    const stage: tf.layers.Layer[] = [
      tf.layers.dense({
        units,
        useBias: !cfg.batchNorm,
        kernelInitializer: init(),
        name: `${name}_dense${k}`,
      }),
    ];
    if (cfg.batchNorm) {
      stage.push(
        new BatchNorm({
          momentum: BATCH_NORM_MOMENTUM,
          epsilon: BATCH_NORM_EPSILON,
          center: !last,
          name: `${name}_bn${k}`,
        }),
      );
    }
    if (!last) stage.push(new Relu({ name: `${name}_relu${k}` }));
    stages.push(stage);
  }

  const input = tf.input({ shape: [inputDim], name: `${name}_input` });
  let out: tf.SymbolicTensor = input;
  for (const stage of stages) for (const layer of stage) out = layer.apply(out) as tf.SymbolicTensor;
  if (numLayers === 0) {
    // A model needs at least one layer between input and output: a linear activation is the identity.
    out = tf.layers
      .activation({ activation: 'linear', name: `${name}_identity` })
      .apply(input) as tf.SymbolicTensor;
  }
  const model = tf.model({ inputs: input, outputs: out, name });

  return {
    model,
    numLayers,
    layerOutputs(x: tf.Tensor2D, training: boolean): tf.Tensor2D[] {
      const outs: tf.Tensor2D[] = [x];
      let y: tf.Tensor = x;
      for (const stage of stages) {
        for (const layer of stage) y = layer.apply(y, { training }) as tf.Tensor;
        outs.push(y as tf.Tensor2D);
      }
      return outs;
    },
    headStages(): tf.LayersModel[] {
      let dim = inputDim;
      return stages.map((stage, k) => {
        const stageInput = tf.input({ shape: [dim], name: `${name}_stage${k}_input` });
        let y: tf.SymbolicTensor = stageInput;
        // Applying a built layer to a new input shares it (and its weights) with the head model.
        for (const layer of stage) y = layer.apply(y) as tf.SymbolicTensor;
        dim = y.shape[1] as number;
        return tf.model({ inputs: stageInput, outputs: y, name: `${name}_stage${k}` });
      });
    },
  };
}
