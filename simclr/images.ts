/**
 * The one convention for turning stored uint8 pixels into network input: NHWC float32 in [0, 1]
 * (the reference implementation feeds [0, 1] images without mean/std normalisation).
 */
import { tf } from './backend';

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
