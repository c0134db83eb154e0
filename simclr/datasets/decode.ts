/**
 * Decodes one image (a file or a buffer) with sharp into the shard layout: a `size`×`size` uint8 HWC
 * array with 1 (grayscale) or 3 (sRGB) channels.
 *
 * What arrives from real folders and how it is normalised, in sharp's pipeline order:
 * - EXIF orientation (phone photos): rotated/mirrored upright first (`autoOrient`).
 * - Alpha (RGBA/LA PNG, GIF, WebP): flattened onto black, then dropped.
 * - Resize: shorter side to `size`, centre crop to a square (`fit: 'cover'`, like torchvision's
 *   Resize + CenterCrop), Lanczos-3 (sharp's default; antialiased when shrinking).
 * - Colour: CMYK (with or without an ICC profile), 16-bit (rgb16/grey16) and palette images are
 *   converted to 8-bit sRGB, or, when `channels` is 1, to libvips' colorimetric gray (relative
 *   luminance Y in linear light, re-encoded with the sRGB curve: pure green → 220, not 601 luma's 150).
 * - Guards: `limitInputPixels` rejects images whose header declares more than `maxInputPixels`
 *   pixels before anything is decoded (decompression bombs), and `failOn: 'warning'` makes truncated
 *   or corrupt data an error instead of a half-grey image. Every error names the file.
 *
 * @example
 *   const pixels = await decodeImage('/data/cats/001.jpg', { size: 32, channels: 3 }); // 32·32·3 bytes
 */
import sharp from 'sharp';
import type { OutputInfo } from 'sharp';

/**
 * Default pixel limit, 2^26 ≈ 67 MP (8192 × 8192). sharp's own default is 0x3FFF² ≈ 268 MP, which
 * already means a >1 GB decode for one image; training images are far smaller, so we stop earlier.
 */
export const DEFAULT_MAX_INPUT_PIXELS = 2 ** 26;

export interface DecodeOptions {
  /** Side of the square output. */
  size: number;
  channels: 1 | 3;
  /** Largest width × height accepted from the image header. */
  maxInputPixels?: number;
  /** How the image is named in errors when `input` is a buffer (default: the path, or "buffer"). */
  name?: string;
}

/** Decodes `input` to `size`×`size`×`channels` uint8 HWC; throws an error naming the image on any failure. */
export async function decodeImage(
  input: string | Buffer | Uint8Array,
  options: DecodeOptions,
): Promise<Uint8Array> {
  const { size, channels } = options;
  const name = options.name ?? (typeof input === 'string' ? input : 'buffer');
  if (!Number.isInteger(size) || size < 1)
    throw new Error(`decodeImage: size must be a positive integer (got ${size})`);
  if (channels !== 1 && channels !== 3)
    throw new Error(`decodeImage: channels must be 1 or 3 (got ${String(channels)})`);
  let result: { data: Buffer; info: OutputInfo };
  try {
    result = await sharp(input, {
      limitInputPixels: options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS,
      failOn: 'warning',
    })
      .autoOrient()
      .flatten({ background: { r: 0, g: 0, b: 0 } })
      .resize(size, size, { fit: 'cover', position: 'centre' })
      .toColourspace(channels === 1 ? 'b-w' : 'srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new Error(`cannot decode image ${name}: ${(err as Error).message}`, { cause: err });
  }
  const { info, data } = result;
  if (
    info.width !== size ||
    info.height !== size ||
    info.channels !== channels ||
    data.length !== size * size * channels
  ) {
    throw new Error(
      `cannot decode image ${name}: sharp produced ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x${channels} uchar`,
    );
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
