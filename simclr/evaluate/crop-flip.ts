/**
 * The augmentation used while fine-tuning: a random crop of the original size from the image padded
 * with `padding` zero pixels on every side, then a horizontal flip with probability ½. [SimCLR] App. B.5
 * fine-tunes with random crop + left-right flip only (no colour distortion or blur); on small images
 * the crop is the usual pad-and-crop translation (4 px at 32 px, i.e. side / 8).
 *
 * Done with tensor ops on the whole batch (one pad, two gathers), exactly: every output pixel is an
 * input pixel or zero. The draws come from a seeded generator so runs are reproducible.
 *
 * @example
 *   const draws = drawCropFlip(batch.shape[0], 4, random);
 *   const augmented = cropFlip(batch, 4, draws); // same shape as batch
 */
import { tf } from '../backend';
import { randomInt } from './prng';

/** Where one image's crop starts in the padded image (0 … 2·padding) and whether it is mirrored. */
export interface CropFlipDraw {
  offsetY: number;
  offsetX: number;
  flip: boolean;
}

/** The padding of [SimCLR]-style small-image fine-tuning: side / 8, rounded (4 px at 32 px). */
export function defaultPadding(height: number, width: number): number {
  return Math.round(Math.min(height, width) / 8);
}

/** `count` independent draws: offsets uniform in [0, 2·padding], flip with probability ½. */
export function drawCropFlip(count: number, padding: number, random: () => number): CropFlipDraw[] {
  return Array.from({ length: count }, () => ({
    offsetY: randomInt(random, 2 * padding + 1),
    offsetX: randomInt(random, 2 * padding + 1),
    flip: random() < 0.5,
  }));
}

/** Applies `draws` (one per image) to `images` [N, h, w, c]; returns a new tensor of the same shape. */
export function cropFlip(images: tf.Tensor4D, padding: number, draws: CropFlipDraw[]): tf.Tensor4D {
  const [n, h, w] = images.shape;
  if (!Number.isInteger(padding) || padding < 0)
    throw new Error(`cropFlip: padding must be a non-negative integer (got ${padding})`);
  if (draws.length !== n) throw new Error(`cropFlip: ${draws.length} draws for ${n} images`);
  const rows = new Int32Array(n * h);
  const cols = new Int32Array(n * w);
  draws.forEach((d, i) => {
    if (!(d.offsetY >= 0 && d.offsetY <= 2 * padding && d.offsetX >= 0 && d.offsetX <= 2 * padding)) {
      throw new Error(
        `cropFlip: offsets (${d.offsetY}, ${d.offsetX}) of image ${i} are outside [0, ${2 * padding}]`,
      );
    }
    for (let y = 0; y < h; y++) rows[i * h + y] = d.offsetY + y;
    for (let x = 0; x < w; x++) cols[i * w + x] = d.offsetX + (d.flip ? w - 1 - x : x);
  });
  return tf.tidy(() => {
    const padded =
      padding > 0
        ? tf.pad(images, [
            [0, 0],
            [padding, padding],
            [padding, padding],
            [0, 0],
          ])
        : images;
    const cropRows = tf.gather(padded, tf.tensor2d(rows, [n, h], 'int32'), 1, 1); // [N, h, w + 2p, c]
    return tf.gather(cropRows, tf.tensor2d(cols, [n, w], 'int32'), 2, 1) as tf.Tensor4D; // [N, h, w, c]
  });
}
