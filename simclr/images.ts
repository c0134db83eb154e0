/**
 * The one convention for turning stored uint8 pixels into network input: NHWC float32 in [0, 1]
 * (the reference implementation feeds [0, 1] images without mean/std normalisation).
 */
import { tf } from './backend';
import type { InputSpec } from '../contracts/model-card';

export interface ImageShape {
  height: number;
  width: number;
  channels: 1 | 3;
}

/** uint8 pixels of `count` images, NHWC, row-major, as a [count, h, w, c] float32 tensor in [0, 1]. */
export function imagesToTensor(pixels: Uint8Array, count: number, shape: ImageShape): tf.Tensor4D {
  const expected = count * shape.height * shape.width * shape.channels;
  if (pixels.length !== expected) {
    throw new Error(
      `imagesToTensor: ${pixels.length} bytes for ${count} images of ${shape.height}x${shape.width}x${shape.channels} (expected ${expected})`,
    );
  }
  return tf.tidy(() =>
    tf.tensor4d(pixels, [count, shape.height, shape.width, shape.channels], 'int32').toFloat().div(255),
  );
}

/**
 * The input convention above as a model card's input spec (contracts/model-card.ts): what a user must
 * do to raw pixels to feed an encoder trained on images of `shape` (simclr/datasets/decode.ts resizes
 * and converts the training images the same way).
 */
export function imageInputSpec(shape: ImageShape): InputSpec {
  return {
    height: shape.height,
    width: shape.width,
    channels: shape.channels,
    layout: 'NHWC',
    dtype: 'float32',
    colorSpace: shape.channels === 1 ? 'grayscale' : 'srgb',
    scale: 1 / 255,
    mean: new Array<number>(shape.channels).fill(0),
    std: new Array<number>(shape.channels).fill(1),
    resize:
      `upright by EXIF, alpha flattened onto black, shorter side to ${Math.min(shape.height, shape.width)} px ` +
      `(Lanczos-3), centre crop to ${shape.height}×${shape.width} (sharp fit 'cover'; IDX/CIFAR images at their own size as-is)`,
  };
}
