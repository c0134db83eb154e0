/**
 * A dataset source on local disk, whatever its format: an image folder, IDX files (MNIST /
 * Fashion-MNIST) or CIFAR-10 binary batches. `openSource` detects the format, applies the split and
 * size limits of the experiment, and `readRange` returns the images of one shard at the target size.
 *
 * The index lists of each split are a pure function of the source and the parameters (seeded), so every
 * shard activity, on any worker, sees the same assignment of images to shards.
 */
import { FOLDER_IMAGE_SIZE } from '../../config/image-size';
import { DatasetError } from '../../contracts/errors';
import { existsSync, statSync } from 'node:fs';
import { relative, sep } from 'node:path';
import sharp from 'sharp';
import type { DatasetConfig } from '../../config/schema';
import type { ImageShape } from '../images';
import { cifar10Files, isCifarDirectory, readCifarBatches, readCifarClassNames } from './cifar';
import { decodeImage } from './decode';
import { listImageFolder, UNLABELLED, type FolderListing } from './folder';
import { findIdxFiles, isIdxDirectory, readIdxDataset, type LabelledImages } from './idx';
import { classBalancedLimit, trainTestSplit } from './splits';

export type SourceFormat = 'folder' | 'idx' | 'cifar10';
export type SplitName = 'train' | 'test';

/** A problem with the source data that no retry can fix (contracts/errors.ts). */
export { DatasetError };

export interface ReadResult {
  pixels: Uint8Array;
  /** One label per image read (−1 for unlabelled). */
  labels: Int32Array;
  count: number;
  /** Files that could not be used, with the reason; they are left out of `pixels`. */
  skipped: { file: string; reason: string }[];
}

/** Called after each unit of a long read: the stage, the units done, and the total when known. */
export type SourceProgress = (stage: string, done: number, total?: number) => void;

export interface DatasetSource {
  path: string;
  format: SourceFormat;
  labelled: boolean;
  classNames: string[];
  /** The shape images are delivered in (the experiment's imageSize and channels). */
  shape: ImageShape;
  /** Images per split, after the experiment's limits. */
  counts: Record<SplitName, number>;
  /** Labels per split, in delivery order (−1 when unlabelled). */
  labels: Record<SplitName, Int32Array>;
  /**
   * Files of the source that are not images and were left out of the listing, with the reason (an
   * image folder's README, a broken link); the images that fail to decode are ReadResult.skipped.
   */
  ignored: { file: string; reason: string }[];
  /**
   * Images [start, start + count) of a split, decoded and resized to `shape`; `onImage` is called after
   * each image (decoding a shard of thousands of images is a long loop).
   */
  readRange(
    split: SplitName,
    start: number,
    count: number,
    onImage?: (done: number, total: number) => void,
  ): Promise<ReadResult>;
  /**
   * The ids of images [start, start + count) of a split, as `readRange` lists them (before any is
   * skipped): an image folder's file path relative to the source folder, `<split>/<index>` in the
   * source's own file for IDX and CIFAR-10. Embeddings files name their rows with them.
   */
  names(split: SplitName, start: number, count: number): string[];
}

export interface OpenOptions {
  /** Progress of the long parts of opening (listing a big image folder). */
  onProgress?: SourceProgress;
}

/** Throws a DatasetError naming `path` unless it is an existing folder (every format is a folder). */
export function checkSourceFolder(path: string): void {
  if (!existsSync(path)) throw new DatasetError(`dataset.source: '${path}' does not exist`);
  if (!statSync(path).isDirectory()) {
    throw new DatasetError(
      `dataset.source: '${path}' is a file, not a folder; give the folder that holds the images ` +
        '(class folders, or train/ and test/), the IDX files or the CIFAR-10 batches',
    );
  }
}

/** The format of a local source folder, from its files. */
export function detectFormat(path: string): SourceFormat {
  checkSourceFolder(path);
  if (isIdxDirectory(path)) return 'idx';
  if (isCifarDirectory(path)) return 'cifar10';
  return 'folder';
}

/** The largest label (−1 for none); a loop, since Math.max(...labels) overflows the stack at ~240k labels. */
export function maxLabel(labels: ArrayLike<number>): number {
  let max = -1;
  for (let i = 0; i < labels.length; i++) if (labels[i] > max) max = labels[i];
  return max;
}

function applyLimit(indices: Int32Array, labels: Int32Array, max: number | undefined): Int32Array {
  if (max === undefined || indices.length <= max) return indices;
  const sub = classBalancedLimit(
    indices.length,
    max,
    labels.some((l) => l >= 0) ? Array.from(indices, (i) => labels[i]) : undefined,
  );
  return Int32Array.from(sub, (j) => indices[j]);
}

/** In-memory sources (IDX, CIFAR) keep one decoded copy per process: every shard reads from it. */
const memoryCache = new Map<
  string,
  Promise<{ train: LabelledImages; test: LabelledImages; classNames: string[] }>
>();

async function loadInMemory(path: string, format: 'idx' | 'cifar10') {
  const key = `${format}:${path}`;
  let entry = memoryCache.get(key);
  if (!entry) {
    entry = (async () => {
      if (format === 'idx') {
        const f = findIdxFiles(path);
        const [train, test] = await Promise.all([
          readIdxDataset(f.train.images, f.train.labels),
          readIdxDataset(f.test.images, f.test.labels),
        ]);
        const classes = maxLabel(train.labels) + 1;
        return { train, test, classNames: idxClassNames(path, classes) };
      }
      const f = cifar10Files(path);
      const [train, test] = await Promise.all([readCifarBatches(f.train), readCifarBatches(f.test)]);
      const classNames = f.classNames
        ? await readCifarClassNames(f.classNames)
        : Array.from({ length: 10 }, (_, i) => `class-${i}`);
      return { train, test, classNames };
    })();
    entry.catch(() => memoryCache.delete(key));
    memoryCache.clear(); // one dataset at a time: they can be large
    memoryCache.set(key, entry);
  }
  return entry;
}

const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

function idxClassNames(path: string, classes: number): string[] {
  if (/fashion/i.test(path) && classes === 10) return FASHION_MNIST_CLASSES;
  return Array.from({ length: classes }, (_, i) => String(i));
}

/** Resizes / converts one raw HWC image to the target shape with sharp, or returns it as is. */
async function toShape(pixels: Uint8Array, from: ImageShape, to: ImageShape): Promise<Uint8Array> {
  if (from.height === to.height && from.width === to.width && from.channels === to.channels) return pixels;
  let img = sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), {
    raw: { width: from.width, height: from.height, channels: from.channels },
  }).resize(to.width, to.height, { fit: 'cover' });
  img = to.channels === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== to.channels)
    throw new Error(`resize produced ${info.channels} channels, expected ${to.channels}`);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export async function openSource(
  path: string,
  dataset: DatasetConfig,
  seed: number,
  options: OpenOptions = {},
): Promise<DatasetSource> {
  checkSourceFolder(path);
  const format = dataset.format === 'auto' ? detectFormat(path) : dataset.format;
  if (format === 'idx' || format === 'cifar10') {
    const data = await loadInMemory(path, format);
    // Unset, the images keep the source's own side (28 px for Fashion-MNIST, 32 for CIFAR-10).
    const size = dataset.imageSize ?? data.train.shape.height;
    const channels = dataset.channels ?? data.train.shape.channels;
    const shape: ImageShape = { height: size, width: size, channels };
    const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
    const idx = {
      train: applyLimit(all(data.train.count), data.train.labels, dataset.maxTrainImages),
      test: applyLimit(all(data.test.count), data.test.labels, dataset.maxTestImages),
    };
    const bytes = data.train.shape.height * data.train.shape.width * data.train.shape.channels;
    return {
      path,
      format,
      labelled: true,
      classNames: data.classNames,
      shape,
      counts: { train: idx.train.length, test: idx.test.length },
      labels: {
        train: Int32Array.from(idx.train, (i) => data.train.labels[i]),
        test: Int32Array.from(idx.test, (i) => data.test.labels[i]),
      },
      ignored: [],
      async readRange(split, start, count, onImage) {
        const src = data[split];
        const out = new Uint8Array(count * size * size * channels);
        const labels = new Int32Array(count);
        for (let j = 0; j < count; j++) {
          const i = idx[split][start + j];
          const img = await toShape(src.pixels.subarray(i * bytes, (i + 1) * bytes), src.shape, shape);
          out.set(img, j * img.length);
          labels[j] = src.labels[i];
          onImage?.(j + 1, count);
        }
        return { pixels: out, labels, count, skipped: [] };
      },
      names(split, start, count) {
        return Array.from(idx[split].subarray(start, start + count), (i) => `${split}/${i}`);
      },
    };
  }
  return openFolderSource(path, dataset, seed, options);
}

async function openFolderSource(
  path: string,
  dataset: DatasetConfig,
  seed: number,
  options: OpenOptions,
): Promise<DatasetSource> {
  const hasSplits = ['train', 'test'].every(
    (s) => existsSync(`${path}/${s}`) && statSync(`${path}/${s}`).isDirectory(),
  );
  let listings: Record<SplitName, FolderListing['entries']>;
  let classNames: string[];
  let ignored: FolderListing['ignored'];
  const list = (root: string) =>
    listImageFolder(root, {
      onDirectory: (directories) => options.onProgress?.(`list ${root}`, directories),
    });
  try {
    if (hasSplits) {
      const [train, test] = await Promise.all([list(`${path}/train`), list(`${path}/test`)]);
      if (train.classNames.join('\n') !== test.classNames.join('\n')) {
        throw new DatasetError(
          `dataset.source: '${path}/train' and '${path}/test' have different class folders`,
        );
      }
      listings = { train: train.entries, test: test.entries };
      classNames = train.classNames;
      ignored = [...train.ignored, ...test.ignored];
    } else {
      const all = await list(path);
      ignored = all.ignored;
      const labels = all.classNames.length ? all.entries.map((e) => e.label) : undefined;
      const split = trainTestSplit(all.entries.length, dataset.testFraction, seed, labels);
      listings = {
        train: Array.from(split.train, (i) => all.entries[i]),
        test: Array.from(split.test, (i) => all.entries[i]),
      };
      classNames = all.classNames;
    }
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    throw new DatasetError(`dataset.source: ${(err as Error).message}`);
  }
  const labelsOf = (entries: FolderListing['entries']) => Int32Array.from(entries, (e) => e.label);
  for (const split of ['train', 'test'] as const) {
    const max = split === 'train' ? dataset.maxTrainImages : dataset.maxTestImages;
    const keep = applyLimit(
      Int32Array.from(listings[split], (_, i) => i),
      labelsOf(listings[split]),
      max,
    );
    listings[split] = Array.from(keep, (i) => listings[split][i]);
  }
  const channels = dataset.channels ?? 3;
  const side = dataset.imageSize ?? FOLDER_IMAGE_SIZE;
  const shape: ImageShape = { height: side, width: side, channels };
  const labelled = classNames.length > 0;
  return {
    path,
    format: 'folder',
    labelled,
    classNames,
    shape,
    counts: { train: listings.train.length, test: listings.test.length },
    labels: { train: labelsOf(listings.train), test: labelsOf(listings.test) },
    ignored,
    async readRange(split, start, count, onImage) {
      const bytes = shape.height * shape.width * channels;
      const pixels = new Uint8Array(count * bytes);
      const labels: number[] = [];
      const skipped: ReadResult['skipped'] = [];
      let n = 0;
      for (const entry of listings[split].slice(start, start + count)) {
        try {
          pixels.set(await decodeImage(entry.path, { size: shape.height, channels }), n * bytes);
          labels.push(entry.label ?? UNLABELLED);
          n++;
        } catch (err) {
          skipped.push({ file: entry.path, reason: (err as Error).message });
        }
        onImage?.(n + skipped.length, count);
      }
      return { pixels: pixels.subarray(0, n * bytes), labels: Int32Array.from(labels), count: n, skipped };
    },
    names(split, start, count) {
      return listings[split]
        .slice(start, start + count)
        .map((e) => relative(path, e.path).split(sep).join('/'));
    },
  };
}
