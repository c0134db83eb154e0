/**
 * IDX files (LeCun's MNIST format, also used by Fashion-MNIST), raw or gzip-compressed.
 *
 * Layout: magic = [0, 0, type, ndim] (type 0x08 = unsigned byte), then ndim big-endian uint32 sizes,
 * then the data row-major. Images are idx3 ([count, rows, cols]), labels idx1 ([count]). A malformed
 * or missing file is a DatasetError (non-retryable) naming the file.
 *
 * @example
 *   const train = await readIdxDataset(files.train.images, files.train.labels);
 *   train.pixels; // Uint8Array, count × 28 × 28 × 1 (HWC with one channel)
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DatasetError } from '../../contracts/errors';
import type { ImageShape } from '../images';

const UNSIGNED_BYTE = 0x08;

/** An IDX array of unsigned bytes. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Images and labels of one split, pixels HWC (channels = 1). */
export interface LabelledImages {
  count: number;
  shape: ImageShape;
  pixels: Uint8Array;
  labels: Int32Array;
}

/** The bytes of a file, gunzipped when they start with the gzip magic 1f 8b. */
export async function readMaybeGzip(path: string): Promise<Uint8Array> {
  const bytes = await readFile(path);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return gunzipSync(bytes);
    } catch (err) {
      throw new DatasetError(`${path}: not a valid gzip file (${(err as Error).message})`, { cause: err });
    }
  }
  return bytes;
}

/** Parses IDX bytes; `name` (the file) appears in every error. Only unsigned-byte data is accepted. */
export function parseIdx(bytes: Uint8Array, name: string, expectedDims?: number): IdxArray {
  if (bytes.length < 4) throw new DatasetError(`${name}: not an IDX file (only ${bytes.length} bytes)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new DatasetError(`${name}: not an IDX file (bad magic ${magic}; expected 00 00 08 <ndim>)`);
  }
  if (bytes[2] !== UNSIGNED_BYTE) {
    throw new DatasetError(
      `${name}: IDX data type 0x${bytes[2].toString(16)} is not supported (only 0x08, unsigned byte)`,
    );
  }
  const ndim = bytes[3];
  if (expectedDims !== undefined && ndim !== expectedDims) {
    throw new DatasetError(`${name}: IDX file has ${ndim} dimensions, expected ${expectedDims}`);
  }
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes)
    throw new DatasetError(`${name}: IDX header truncated (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < ndim; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - headerBytes !== size) {
    throw new DatasetError(
      `${name}: IDX dimensions [${dims.join(', ')}] need ${size} data bytes but the file has ${bytes.length - headerBytes}`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/** Reads an idx3 image file: [count, rows, cols] unsigned bytes. */
export async function readIdxImages(
  path: string,
): Promise<{ count: number; shape: ImageShape; pixels: Uint8Array }> {
  const { dims, data } = parseIdx(await readMaybeGzip(path), path, 3);
  const [count, height, width] = dims;
  if (height === 0 || width === 0)
    throw new DatasetError(`${path}: IDX images have zero size ${height}x${width}`);
  return { count, shape: { height, width, channels: 1 }, pixels: data };
}

/** Reads an idx1 label file as Int32Array. */
export async function readIdxLabels(path: string): Promise<Int32Array> {
  const { data } = parseIdx(await readMaybeGzip(path), path, 1);
  return Int32Array.from(data);
}

/** Reads an image file and its label file and checks that their counts agree. */
export async function readIdxDataset(imagesPath: string, labelsPath: string): Promise<LabelledImages> {
  const [images, labels] = await Promise.all([readIdxImages(imagesPath), readIdxLabels(labelsPath)]);
  if (images.count !== labels.length) {
    throw new DatasetError(
      `${imagesPath} has ${images.count} images but ${labelsPath} has ${labels.length} labels`,
    );
  }
  return { ...images, labels };
}

/** The four files of an MNIST-style directory. */
export interface IdxFiles {
  train: { images: string; labels: string };
  test: { images: string; labels: string };
}

/**
 * Finds the standard MNIST / Fashion-MNIST file names in `dir` (train-images-idx3-ubyte,
 * train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; each raw or .gz, and
 * also with the '.' instead of '-' before idx that some mirrors use).
 */
export function findIdxFiles(dir: string): IdxFiles {
  const find = (prefix: string, kind: 'images-idx3' | 'labels-idx1'): string => {
    const candidates = [`${prefix}-${kind}-ubyte`, `${prefix}-${kind.replace('-', '.')}-ubyte`].flatMap(
      (n) => [n, `${n}.gz`],
    );
    for (const name of candidates) {
      const p = join(dir, name);
      if (existsSync(p)) return p;
    }
    throw new DatasetError(`${dir}: no IDX file ${candidates[0]}[.gz] found`);
  };
  return {
    train: { images: find('train', 'images-idx3'), labels: find('train', 'labels-idx1') },
    test: { images: find('t10k', 'images-idx3'), labels: find('t10k', 'labels-idx1') },
  };
}

/** True when `dir` looks like an MNIST-style directory (used by format auto-detection). */
export function isIdxDirectory(dir: string): boolean {
  try {
    findIdxFiles(dir);
    return true;
  } catch {
    return false;
  }
}
