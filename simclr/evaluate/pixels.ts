/**
 * The raw-pixel baseline's features: every image flattened to its h·w·c pixel values, scaled to [0, 1]
 * as simclr/images.ts scales network input. Linear evaluation (which standardises each dimension) and
 * kNN (which L2-normalises each row) then treat them exactly as they treat an encoder's features, so
 * "SimCLR vs raw pixels" compares representations under one protocol. No model, no tensors.
 *
 * @example
 *   const train: FeatureSet = { features: pixelFeatures(split.pixels, split.count, shape), labels: split.labels, dim: pixelDimension(shape) };
 */
import type { ImageShape } from '../images';

/** Values per image: height × width × channels (784 for Fashion-MNIST, 3072 for CIFAR-10). */
export function pixelDimension(shape: ImageShape): number {
  return shape.height * shape.width * shape.channels;
}

/**
 * `count` uint8 NHWC images as row-major [count, h·w·c] float32 features in [0, 1] (value / 255), in
 * the images' own pixel order (row, column, channel).
 */
export function pixelFeatures(pixels: Uint8Array, count: number, shape: ImageShape): Float32Array {
  if (!Number.isInteger(count) || count < 0)
    throw new Error(`pixelFeatures: count must be a non-negative integer (got ${count})`);
  const dim = pixelDimension(shape);
  if (pixels.length !== count * dim) {
    throw new Error(
      `pixelFeatures: ${pixels.length} bytes for ${count} images of ${shape.height}x${shape.width}x${shape.channels} (expected ${count * dim})`,
    );
  }
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i] / 255;
  return out;
}
