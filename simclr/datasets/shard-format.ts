/**
 * The binary shard: a fixed number of same-sized images (and their labels) in one blob, so that
 * training streams a few large objects instead of many small files.
 *
 * Layout (all integers little-endian):
 *
 *   offset  size  field
 *   0       8     magic "SIMCLRSH"
 *   8       2     version (1)
 *   10      1     channels (1 or 3)
 *   11      1     hasLabels (0 or 1)
 *   12      4     count
 *   16      4     height
 *   20      4     width
 *   24      4     reserved (0)
 *   28      4     CRC-32 of bytes 0..27 followed by the whole payload
 *   32      N     pixels: count × height × width × channels uint8, HWC per image
 *   32+N    4·n   labels: count int32 (only when hasLabels = 1)
 *
 * The CRC covers header and payload, so a truncated, bit-flipped or mislabelled shard is rejected
 * by decodeShard before any of it is used.
 *
 * @example
 *   const bytes = encodeShard({ count, shape, pixels, labels });
 *   const shard = decodeShard(bytes, 'datasets/abc/train/shard-00003');
 */
import { crc32 } from 'node:zlib';
import { CorruptShardError } from '../../contracts/errors';
import type { ImageShape } from '../images';

export const SHARD_MAGIC = 'SIMCLRSH';
export const SHARD_VERSION = 1;
export const SHARD_HEADER_BYTES = 32;

export interface Shard {
  count: number;
  shape: ImageShape;
  /** count × h × w × c bytes. decodeShard returns a view into the bytes it was given. */
  pixels: Uint8Array;
  /** One label per image, or undefined for an unlabelled shard. */
  labels?: Int32Array;
}

function imageBytes(shape: ImageShape): number {
  return shape.height * shape.width * shape.channels;
}

/** The byte length of an encoded shard of `count` images of `shape` (with or without labels). */
export function shardByteLength(count: number, shape: ImageShape, hasLabels: boolean): number {
  return SHARD_HEADER_BYTES + count * imageBytes(shape) + (hasLabels ? 4 * count : 0);
}

/** Serialises a shard; checks that the pixel and label lengths match the count and shape. */
export function encodeShard(shard: Shard): Uint8Array {
  const { count, shape, pixels, labels } = shard;
  if (!Number.isInteger(count) || count < 0 || count > 0xffffffff)
    throw new Error(`encodeShard: bad count ${count}`);
  if (shape.channels !== 1 && shape.channels !== 3)
    throw new Error(`encodeShard: channels must be 1 or 3 (got ${String(shape.channels)})`);
  for (const [field, v] of [
    ['height', shape.height],
    ['width', shape.width],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 0xffffffff) throw new Error(`encodeShard: bad ${field} ${v}`);
  }
  const pixelBytes = count * imageBytes(shape);
  if (pixels.length !== pixelBytes) {
    throw new Error(
      `encodeShard: ${pixels.length} pixel bytes for ${count} images of ${shape.height}x${shape.width}x${shape.channels} (expected ${pixelBytes})`,
    );
  }
  if (labels && labels.length !== count)
    throw new Error(`encodeShard: ${labels.length} labels for ${count} images`);
  const out = new Uint8Array(SHARD_HEADER_BYTES + pixelBytes + (labels ? 4 * count : 0));
  const view = new DataView(out.buffer);
  for (let i = 0; i < SHARD_MAGIC.length; i++) out[i] = SHARD_MAGIC.charCodeAt(i);
  view.setUint16(8, SHARD_VERSION, true);
  view.setUint8(10, shape.channels);
  view.setUint8(11, labels ? 1 : 0);
  view.setUint32(12, count, true);
  view.setUint32(16, shape.height, true);
  view.setUint32(20, shape.width, true);
  view.setUint32(24, 0, true);
  out.set(pixels, SHARD_HEADER_BYTES);
  if (labels) {
    const base = SHARD_HEADER_BYTES + pixelBytes;
    for (let i = 0; i < count; i++) view.setInt32(base + 4 * i, labels[i], true);
  }
  view.setUint32(28, checksum(out), true);
  return out;
}

function checksum(bytes: Uint8Array): number {
  return crc32(bytes.subarray(SHARD_HEADER_BYTES), crc32(bytes.subarray(0, 28))) >>> 0;
}

/** The header fields, validated (magic, version, channels, sizes); does not verify the checksum. */
export function readShardHeader(
  bytes: Uint8Array,
  name = 'shard',
): { count: number; shape: ImageShape; hasLabels: boolean } {
  if (bytes.length < SHARD_HEADER_BYTES)
    throw new CorruptShardError(name, `not a shard (${bytes.length} bytes, header is ${SHARD_HEADER_BYTES})`);
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (magic !== SHARD_MAGIC)
    throw new CorruptShardError(
      name,
      `not a shard (magic ${JSON.stringify(magic)}, expected ${SHARD_MAGIC})`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(8, true);
  if (version !== SHARD_VERSION)
    throw new CorruptShardError(
      name,
      `shard version ${version} is not supported (this build reads ${SHARD_VERSION})`,
    );
  const channels = view.getUint8(10);
  const hasLabels = view.getUint8(11);
  if (channels !== 1 && channels !== 3)
    throw new CorruptShardError(name, `corrupt shard header (channels ${channels})`);
  if (hasLabels > 1) throw new CorruptShardError(name, `corrupt shard header (hasLabels ${hasLabels})`);
  const count = view.getUint32(12, true);
  const height = view.getUint32(16, true);
  const width = view.getUint32(20, true);
  return { count, shape: { height, width, channels }, hasLabels: hasLabels === 1 };
}

/** Parses and verifies a shard (length and CRC-32); `name` (its key or path) appears in every error. */
export function decodeShard(bytes: Uint8Array, name = 'shard'): Shard {
  const { count, shape, hasLabels } = readShardHeader(bytes, name);
  const pixelBytes = count * imageBytes(shape);
  const expected = SHARD_HEADER_BYTES + pixelBytes + (hasLabels ? 4 * count : 0);
  if (bytes.length !== expected) {
    throw new CorruptShardError(
      name,
      `shard is ${bytes.length} bytes but its header (${count} images of ${shape.height}x${shape.width}x${shape.channels}${hasLabels ? ' with labels' : ''}) needs ${expected}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stored = view.getUint32(28, true);
  const actual = checksum(bytes);
  if (stored !== actual) {
    throw new CorruptShardError(
      name,
      `shard checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)}): the shard is corrupt`,
    );
  }
  const pixels = bytes.subarray(SHARD_HEADER_BYTES, SHARD_HEADER_BYTES + pixelBytes);
  let labels: Int32Array | undefined;
  if (hasLabels) {
    labels = new Int32Array(count);
    const base = SHARD_HEADER_BYTES + pixelBytes;
    for (let i = 0; i < count; i++) labels[i] = view.getInt32(base + 4 * i, true);
  }
  return { count, shape, pixels, labels };
}
