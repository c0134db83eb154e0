/**
 * CIFAR-10 binary batches (https://www.cs.toronto.edu/~kriz/cifar.html, "binary version").
 *
 * Each record is 3073 bytes: 1 label byte (0–9), then a 32×32 image as 1024 red, 1024 green, 1024
 * blue bytes (CHW, rows top to bottom). We convert to HWC, the project's pixel layout
 * (simclr/images.ts). data_batch_1..5.bin are the training split, test_batch.bin the test split;
 * batches.meta.txt lists the class names, one per line. A malformed or missing file is a DatasetError
 * (non-retryable) naming the file.
 *
 * @example
 *   const { train, test, classNames } = cifar10Files('/data/cifar-10-batches-bin');
 *   const batch = await readCifarBatches(train);
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetError } from '../../contracts/errors';
import type { LabelledImages } from './idx';

export const CIFAR_SIDE = 32;
const PLANE = CIFAR_SIDE * CIFAR_SIDE;
const RECORD = 1 + 3 * PLANE;
const CLASSES = 10;

/** Parses one binary batch (bytes of a data_batch_N.bin / test_batch.bin); `name` is used in errors. */
export function parseCifarBatch(bytes: Uint8Array, name: string): LabelledImages {
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new DatasetError(
      `${name}: ${bytes.length} bytes is not a whole number of CIFAR-10 records (${RECORD} bytes each)`,
    );
  }
  const count = bytes.length / RECORD;
  const pixels = new Uint8Array(count * 3 * PLANE);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const rec = i * RECORD;
    const label = bytes[rec];
    if (label >= CLASSES)
      throw new DatasetError(`${name}: record ${i} has label ${label}, outside 0..${CLASSES - 1}`);
    labels[i] = label;
    const out = i * 3 * PLANE;
    for (let p = 0; p < PLANE; p++) {
      pixels[out + 3 * p] = bytes[rec + 1 + p];
      pixels[out + 3 * p + 1] = bytes[rec + 1 + PLANE + p];
      pixels[out + 3 * p + 2] = bytes[rec + 1 + 2 * PLANE + p];
    }
  }
  return { count, shape: { height: CIFAR_SIDE, width: CIFAR_SIDE, channels: 3 }, pixels, labels };
}

/** Reads one binary batch file. */
export async function readCifarBatch(path: string): Promise<LabelledImages> {
  return parseCifarBatch(await readFile(path), path);
}

/** Reads several batch files and concatenates them in the order given. */
export async function readCifarBatches(paths: string[]): Promise<LabelledImages> {
  const parts = await Promise.all(paths.map(readCifarBatch));
  const count = parts.reduce((n, p) => n + p.count, 0);
  const pixels = new Uint8Array(count * 3 * PLANE);
  const labels = new Int32Array(count);
  let at = 0;
  for (const p of parts) {
    pixels.set(p.pixels, at * 3 * PLANE);
    labels.set(p.labels, at);
    at += p.count;
  }
  return { count, shape: { height: CIFAR_SIDE, width: CIFAR_SIDE, channels: 3 }, pixels, labels };
}

/** Class names from batches.meta.txt (one per line, blank lines dropped). */
export async function readCifarClassNames(path: string): Promise<string[]> {
  const names = (await readFile(path, 'utf8'))
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (names.length !== CLASSES)
    throw new DatasetError(`${path}: expected ${CLASSES} class names, found ${names.length}`);
  return names;
}

/** The files of a CIFAR-10 binary directory. */
export interface CifarFiles {
  train: string[];
  test: string[];
  /** batches.meta.txt, when present. */
  classNames?: string;
}

/**
 * Locates the batches in `dir` or in its `cifar-10-batches-bin/` subfolder (how the tarball
 * unpacks). The training batches present among data_batch_1..5.bin are used; test_batch.bin is required.
 */
export function cifar10Files(dir: string): CifarFiles {
  const nested = join(dir, 'cifar-10-batches-bin');
  const root = existsSync(nested) && statSync(nested).isDirectory() ? nested : dir;
  const train = [1, 2, 3, 4, 5].map((i) => join(root, `data_batch_${i}.bin`)).filter((p) => existsSync(p));
  const test = join(root, 'test_batch.bin');
  if (train.length === 0)
    throw new DatasetError(`${dir}: no CIFAR-10 training batch data_batch_1.bin … data_batch_5.bin found`);
  if (!existsSync(test)) throw new DatasetError(`${dir}: CIFAR-10 test batch test_batch.bin not found`);
  const meta = join(root, 'batches.meta.txt');
  return { train, test: [test], classNames: existsSync(meta) ? meta : undefined };
}

/** True when `dir` looks like a CIFAR-10 binary directory (used by format auto-detection). */
export function isCifarDirectory(dir: string): boolean {
  try {
    cifar10Files(dir);
    return true;
  } catch {
    return false;
  }
}
