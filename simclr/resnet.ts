/**
 * The encoder f(·): a ResNet whose representation h is the output of its global average pool
 * ([SimCLR] Sec. 2.1, "h = f(x̃) = ResNet(x̃)"), built as a tf.LayersModel [N, H, W, C] → [N, repDim].
 *
 * - ResNet-18/34: basic blocks (two 3×3 convs), stage widths [64, 128, 256, 512]·w, repDim 512·w.
 * - ResNet-50: bottleneck blocks (1×1, 3×3, 1×1 with 4× expansion), repDim 2048·w.
 * - resnet-mini: a small network for quick runs and tests; CIFAR stem of width 16·w, then one basic
 *   block per stage with widths [16, 32, 64]·w and strides [1, 2, 2], repDim 64·w.
 *
 * Stems: 'cifar' is a 3×3 stride-1 conv without max-pool ([SimCLR] App. B.9), 'imagenet' the usual
 * 7×7 stride-2 conv followed by a 3×3 stride-2 max-pool. Convs have no bias (batch norm follows);
 * batch norm uses momentum 0.9 and ε = 1e-5 like the reference (resnet.py BATCH_NORM_DECAY/EPSILON),
 * and the last batch norm of each residual branch starts with γ = 0 (the reference's init_zero), so
 * every block starts as the identity. Shortcuts are 1×1 projections + batch norm where the shape changes.
 *
 * Layer names are `<name>_<part>` (e.g. `encoder_s2_b0_conv1`), so weights are named
 * `encoder_s2_b0_conv1/kernel` and map by name across processes (`LayerVariable.originalName`; tfjs
 * appends `_1`, `_2` to the backing tf.Variable's name when the same name is built twice in one process).
 *
 * @example
 *   const f = buildEncoder({ encoder: 'resnet18', widthMultiplier: 1, stem: 'cifar', inputShape: [32, 32, 3] });
 *   const h = f.apply(x, { training: true }) as tf.Tensor2D; // [N, 512]
 */
import { tf } from './backend';
import type { Encoder } from '../config/schema';
import { BatchNorm } from './kernels/batch-norm';
import { Relu } from './kernels/relu';
import { InputConv } from './kernels/input-conv';

export interface EncoderOptions {
  encoder: Encoder;
  widthMultiplier: number;
  stem: 'cifar' | 'imagenet';
  /** [height, width, channels] of one image. */
  inputShape: [number, number, number];
  /** Prefix of every layer name; default 'encoder'. */
  name?: string;
  /** Seed of the weight initialisers (each layer derives its own); undefined: random. */
  seed?: number;
}

/** Batch-norm settings of the reference implementation (resnet.py). */
export const BATCH_NORM_MOMENTUM = 0.9;
export const BATCH_NORM_EPSILON = 1e-5;

interface Architecture {
  block: 'basic' | 'bottleneck';
  stemWidth: number;
  widths: number[];
  blocks: number[];
  strides: number[];
  expansion: number;
}

const ARCHITECTURES: Record<Encoder, Architecture> = {
  'resnet-mini': {
    block: 'basic',
    stemWidth: 16,
    widths: [16, 32, 64],
    blocks: [1, 1, 1],
    strides: [1, 2, 2],
    expansion: 1,
  },
  resnet18: {
    block: 'basic',
    stemWidth: 64,
    widths: [64, 128, 256, 512],
    blocks: [2, 2, 2, 2],
    strides: [1, 2, 2, 2],
    expansion: 1,
  },
  resnet34: {
    block: 'basic',
    stemWidth: 64,
    widths: [64, 128, 256, 512],
    blocks: [3, 4, 6, 3],
    strides: [1, 2, 2, 2],
    expansion: 1,
  },
  resnet50: {
    block: 'bottleneck',
    stemWidth: 64,
    widths: [64, 128, 256, 512],
    blocks: [3, 4, 6, 3],
    strides: [1, 2, 2, 2],
    expansion: 4,
  },
};

function scaled(channels: number, widthMultiplier: number): number {
  return Math.max(1, Math.round(channels * widthMultiplier));
}

function architecture(encoder: Encoder): Architecture {
  const arch = ARCHITECTURES[encoder];
  if (!arch)
    throw new Error(
      `unknown encoder '${encoder}' (expected one of ${Object.keys(ARCHITECTURES).join(', ')})`,
    );
  return arch;
}

/** Width of the representation h (the global-average-pool output): last stage width × expansion × w. */
export function representationDim(encoder: Encoder, widthMultiplier: number): number {
  const arch = architecture(encoder);
  return scaled(arch.widths[arch.widths.length - 1], widthMultiplier) * arch.expansion;
}

/** Builds the encoder; see the module comment for the architectures. */
export function buildEncoder(opts: EncoderOptions): tf.LayersModel {
  const arch = architecture(opts.encoder);
  if (!(opts.widthMultiplier > 0))
    throw new Error(`buildEncoder: widthMultiplier must be > 0 (got ${opts.widthMultiplier})`);
  const prefix = opts.name ?? 'encoder';
  let seedCounter = 0;
  const kernelInit = () =>
    // The reference's tf.keras.initializers.VarianceScaling(): scale 1, fan-in, truncated normal.
    tf.initializers.varianceScaling({
      scale: 1,
      mode: 'fanIn',
      distribution: 'truncatedNormal',
      seed: opts.seed === undefined ? undefined : opts.seed * 1000 + seedCounter++,
    });

  const conv = (x: tf.SymbolicTensor, filters: number, kernelSize: number, strides: number, name: string) =>
    tf.layers
      .conv2d({
        filters,
        kernelSize,
        strides,
        padding: 'same',
        useBias: false,
        kernelInitializer: kernelInit(),
        name: `${prefix}_${name}`,
      })
      .apply(x) as tf.SymbolicTensor;
  // The stem's conv takes the images: the same conv, without the input gradient (./kernels/input-conv.ts).
  const stemConv = (x: tf.SymbolicTensor, filters: number, kernelSize: number, strides: number) =>
    new InputConv({
      filters,
      kernelSize,
      strides,
      kernelInitializer: kernelInit(),
      name: `${prefix}_stem_conv`,
    }).apply(x) as tf.SymbolicTensor;
  const bn = (x: tf.SymbolicTensor, name: string, zeroGamma = false) =>
    new BatchNorm({
      momentum: BATCH_NORM_MOMENTUM,
      epsilon: BATCH_NORM_EPSILON,
      zeroGamma,
      name: `${prefix}_${name}`,
    }).apply(x) as tf.SymbolicTensor;
  const relu = (x: tf.SymbolicTensor, name: string) =>
    new Relu({ name: `${prefix}_${name}` }).apply(x) as tf.SymbolicTensor;

  const input = tf.input({ shape: opts.inputShape, name: `${prefix}_input` });
  const stemWidth = scaled(arch.stemWidth, opts.widthMultiplier);
  let x: tf.SymbolicTensor;
  if (opts.stem === 'cifar') {
    x = relu(bn(stemConv(input, stemWidth, 3, 1), 'stem_bn'), 'stem_relu');
  } else {
    x = relu(bn(stemConv(input, stemWidth, 7, 2), 'stem_bn'), 'stem_relu');
    x = tf.layers
      .maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: `${prefix}_stem_pool` })
      .apply(x) as tf.SymbolicTensor;
  }
  let channels = stemWidth;

  arch.widths.forEach((baseWidth, stage) => {
    const width = scaled(baseWidth, opts.widthMultiplier);
    const outChannels = width * arch.expansion;
    for (let b = 0; b < arch.blocks[stage]; b++) {
      const strides = b === 0 ? arch.strides[stage] : 1;
      const p = `s${stage + 1}_b${b}`;
      let shortcut = x;
      if (strides !== 1 || channels !== outChannels) {
        shortcut = bn(conv(x, outChannels, 1, strides, `${p}_proj_conv`), `${p}_proj_bn`);
      }
      let y: tf.SymbolicTensor;
      if (arch.block === 'basic') {
        y = relu(bn(conv(x, width, 3, strides, `${p}_conv1`), `${p}_bn1`), `${p}_relu1`);
        y = bn(conv(y, width, 3, 1, `${p}_conv2`), `${p}_bn2`, true);
      } else {
        // Stride on the 3×3 conv (ResNet v1.5, as the reference's bottleneck_block).
        y = relu(bn(conv(x, width, 1, 1, `${p}_conv1`), `${p}_bn1`), `${p}_relu1`);
        y = relu(bn(conv(y, width, 3, strides, `${p}_conv2`), `${p}_bn2`), `${p}_relu2`);
        y = bn(conv(y, outChannels, 1, 1, `${p}_conv3`), `${p}_bn3`, true);
      }
      const sum = tf.layers.add({ name: `${prefix}_${p}_add` }).apply([y, shortcut]) as tf.SymbolicTensor;
      x = relu(sum, `${p}_out`);
      channels = outChannels;
    }
  });

  const h = tf.layers.globalAveragePooling2d({ name: `${prefix}_avg_pool` }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: h, name: prefix });
}
