/**
 * Dataset images as PNG for the report: one image (the neighbour grid's data URIs) and a sprite sheet
 * (the TensorBoard projector's thumbnails of every map point). Input is what the dataset shards hold
 * (simclr/datasets/shard-format.ts): uint8 HWC pixels, 1 or 3 channels, images back to back.
 *
 * @example
 *   const uri = await pngDataUri(images.pixels.subarray(0, 784), { height: 28, width: 28, channels: 1 });
 *   const sheet = await spriteSheet(images.pixels, 3000, shape); // sheet.png, sheet.tile (px), sheet.columns
 */
import sharp from 'sharp';
import type { ImageShape } from '../simclr/images';

/** TensorBoard's projector refuses a sprite wider or taller than this (its frontend's limit). */
export const MAX_SPRITE_SIDE = 8192;

const bytesOf = (shape: ImageShape) => shape.height * shape.width * shape.channels;

/**
 * Raw pixels into sharp. Grey stays one channel on the way out (sharp otherwise writes sRGB: three
 * times the bytes of a grey PNG, and a raw output with three channels per pixel).
 */
function raw(pixels: Uint8Array, shape: ImageShape): ReturnType<typeof sharp> {
  const image = sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), {
    raw: { width: shape.width, height: shape.height, channels: shape.channels as 1 | 3 },
  });
  return shape.channels === 1 ? image.toColourspace('b-w') : image;
}

/** One image as PNG (lossless; grey stays one channel). */
export async function imagePng(pixels: Uint8Array, shape: ImageShape): Promise<Buffer> {
  if (pixels.length !== bytesOf(shape))
    throw new Error(
      `imagePng: ${pixels.length} bytes for one ${shape.height}x${shape.width}x${shape.channels} image`,
    );
  return raw(pixels, shape).png().toBuffer();
}

/** One image as a `data:image/png;base64,…` URI, for a self-contained HTML page. */
export async function pngDataUri(pixels: Uint8Array, shape: ImageShape): Promise<string> {
  return `data:image/png;base64,${(await imagePng(pixels, shape)).toString('base64')}`;
}

export interface SpriteSheet {
  png: Buffer;
  /** Side of one square thumbnail in pixels (the projector's single_image_dim). */
  tile: number;
  /** Thumbnails per row and rows: the sheet is columns × columns tiles, row-major from the top left. */
  columns: number;
}

/**
 * The `count` images as thumbnails in a square grid of ⌈√count⌉ × ⌈√count⌉ tiles, row-major from the
 * top left, unused tiles black: the layout TensorBoard's projector expects. Tiles are the image size,
 * shrunk (square) when the sheet would exceed MAX_SPRITE_SIDE.
 */
export async function spriteSheet(
  pixels: Uint8Array,
  count: number,
  shape: ImageShape,
): Promise<SpriteSheet> {
  const bytes = bytesOf(shape);
  if (!Number.isInteger(count) || count < 1 || pixels.length !== count * bytes)
    throw new Error(
      `spriteSheet: ${pixels.length} bytes are not ${count} images of ${shape.height}x${shape.width}x${shape.channels}`,
    );
  const columns = Math.ceil(Math.sqrt(count));
  const tile = Math.min(Math.max(shape.height, shape.width), Math.floor(MAX_SPRITE_SIDE / columns));
  if (tile < 1) throw new Error(`spriteSheet: ${count} images do not fit a ${MAX_SPRITE_SIDE} px sprite`);
  const { channels } = shape;
  const side = columns * tile;
  const sheet = Buffer.alloc(side * side * channels);
  const sameSize = shape.height === tile && shape.width === tile;
  for (let i = 0; i < count; i++) {
    const image = pixels.subarray(i * bytes, (i + 1) * bytes);
    const thumb = sameSize
      ? image
      : await raw(image, shape).resize(tile, tile, { fit: 'fill' }).raw().toBuffer();
    if (thumb.length !== tile * tile * channels)
      throw new Error(
        `spriteSheet: thumbnail ${i} has ${thumb.length} bytes, not ${tile}x${tile}x${channels}`,
      );
    const x0 = (i % columns) * tile;
    const y0 = Math.floor(i / columns) * tile;
    for (let y = 0; y < tile; y++) {
      const from = y * tile * channels;
      sheet.set(thumb.subarray(from, from + tile * channels), ((y0 + y) * side + x0) * channels);
    }
  }
  const png = await raw(sheet, { height: side, width: side, channels }).png().toBuffer();
  return { png, tile, columns };
}
