/**
 * Frozen representations for evaluation: h = f(x) of every image, computed by the encoder in
 * inference mode (batch norm uses its moving statistics), in batches, into one flat Float32Array.
 *
 * @example
 *   const h = await extractFeatures(encoder, shard.pixels, shard.count, shape, 256, (done, total) => heartbeat({ done, total }));
 *   const train: FeatureSet = { features: h, labels: shard.labels, dim: h.length / shard.count };
 */
import { tf } from '../backend';
import { imagesToTensor, type ImageShape } from '../images';

/** Features of `labels.length` examples, row-major [count, dim], with one class index per example. */
export interface FeatureSet {
  features: Float32Array;
  labels: ArrayLike<number>;
  dim: number;
}

/** Called after each batch with the number of images done so far and the total. */
export type ProgressCallback = (done: number, total: number) => void;

/**
 * Runs `encoder` over `count` uint8 NHWC images (converted by simclr/images.ts to [0, 1] floats) in
 * batches of `batchSize` with training = false, and returns the [count, d] features row-major.
 * The encoder must have one output of rank 2 ([N, d], the global-average-pool representation).
 * Every intermediate tensor is released; the event loop is yielded after each batch.
 */
export async function extractFeatures(
  encoder: tf.LayersModel,
  pixels: Uint8Array,
  count: number,
  shape: ImageShape,
  batchSize: number,
  onProgress?: ProgressCallback,
): Promise<Float32Array> {
  if (!Number.isInteger(count) || count < 0)
    throw new Error(`extractFeatures: count must be a non-negative integer (got ${count})`);
  if (!Number.isInteger(batchSize) || batchSize <= 0)
    throw new Error(`extractFeatures: batchSize must be a positive integer (got ${batchSize})`);
  const bytesPerImage = shape.height * shape.width * shape.channels;
  if (pixels.length !== count * bytesPerImage) {
    throw new Error(
      `extractFeatures: ${pixels.length} bytes for ${count} images of ${shape.height}x${shape.width}x${shape.channels} (expected ${count * bytesPerImage})`,
    );
  }
  const dim = featureDimension(encoder);
  const out = new Float32Array(count * dim);
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    const batch = tf.tidy(() => {
      const x = imagesToTensor(pixels.subarray(start * bytesPerImage, (start + n) * bytesPerImage), n, shape);
      return encoder.predict(x, { batchSize: n }) as tf.Tensor;
    });
    try {
      if (batch.shape.length !== 2 || batch.shape[0] !== n || batch.shape[1] !== dim) {
        throw new Error(
          `extractFeatures: encoder '${encoder.name}' returned shape [${batch.shape.join(', ')}] for ${n} images (expected [${n}, ${dim}])`,
        );
      }
      out.set((await batch.data()) as Float32Array, start * dim);
    } finally {
      batch.dispose();
    }
    onProgress?.(start + n, count);
    // Let heartbeats and cancellation through between batches (a large split takes minutes).
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return out;
}

/** The representation width d of an encoder with a single [N, d] output. */
export function featureDimension(encoder: tf.LayersModel): number {
  if (encoder.outputs.length !== 1) {
    throw new Error(
      `encoder '${encoder.name}' has ${encoder.outputs.length} outputs; evaluation needs exactly one [N, d] output`,
    );
  }
  const shape = encoder.outputs[0].shape;
  const dim = shape[1];
  if (shape.length !== 2 || dim == null || dim <= 0) {
    throw new Error(
      `encoder '${encoder.name}' output has shape [${shape.join(', ')}]; evaluation needs [N, d] features (flatten or pool first)`,
    );
  }
  return dim;
}

/**
 * Checks a FeatureSet and returns its size; `name` ('train', 'test') goes into the error message.
 * Labels must be integers in [0, numClasses) when numClasses is given.
 */
export function checkFeatureSet(set: FeatureSet, name: string, numClasses?: number): number {
  const count = set.labels.length;
  if (!Number.isInteger(set.dim) || set.dim <= 0)
    throw new Error(`${name} features: dim must be a positive integer (got ${set.dim})`);
  if (set.features.length !== count * set.dim) {
    throw new Error(
      `${name} features: ${set.features.length} values for ${count} labels of dimension ${set.dim} (expected ${count * set.dim})`,
    );
  }
  for (let i = 0; i < count; i++) {
    const y = set.labels[i];
    if (!Number.isInteger(y) || y < 0 || (numClasses !== undefined && y >= numClasses)) {
      throw new Error(
        `${name} labels: label ${y} of example ${i} is not a class index in [0, ${numClasses ?? '∞'})`,
      );
    }
  }
  return count;
}

/** Number of classes: the given one, else 1 + the largest label seen in any of the sets. */
export function countClasses(sets: { labels: ArrayLike<number> }[], numClasses?: number): number {
  if (numClasses !== undefined) {
    if (!Number.isInteger(numClasses) || numClasses < 1)
      throw new Error(`numClasses must be a positive integer (got ${numClasses})`);
    return numClasses;
  }
  let max = -1;
  for (const s of sets) for (let i = 0; i < s.labels.length; i++) max = Math.max(max, s.labels[i]);
  if (max < 0) throw new Error('cannot infer the number of classes: no labels');
  return max + 1;
}
