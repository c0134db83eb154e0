/**
 * The image of an embeddings row, found again in its source from the row's name (simclr/embeddings-file.ts
 * says how rows are named): an image folder's file, or the `<split>/<index>`-th image of the IDX or
 * CIFAR-10 files. For contact sheets (`simclr neighbors --out`): returned as a PNG thumbnail.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { EmbeddingsMeta } from './embeddings-file';
import { cifar10Files, readCifarBatches } from './datasets/cifar';
import { findIdxFiles, readIdxDataset, type LabelledImages } from './datasets/idx';

/** One split of an in-memory source, loaded once per process. */
const splits = new Map<string, Promise<LabelledImages>>();

function loadSplit(meta: EmbeddingsMeta, split: 'train' | 'test'): Promise<LabelledImages> {
  const key = `${meta.source.format}:${meta.source.uri}:${split}`;
  let entry = splits.get(key);
  if (!entry) {
    if (meta.source.format === 'idx') {
      const f = findIdxFiles(meta.source.uri)[split];
      entry = readIdxDataset(f.images, f.labels);
    } else entry = readCifarBatches(cifar10Files(meta.source.uri)[split]);
    splits.set(key, entry);
  }
  return entry;
}

/** A `size`×`size` PNG of an image file (centre crop, nearest-neighbour so small images stay sharp). */
export function fileThumbnail(path: string, size: number): Promise<Buffer> {
  return sharp(path).resize(size, size, { fit: 'cover', kernel: 'nearest' }).png().toBuffer();
}

/**
 * A `size`×`size` PNG of the row named `name` (nearest-neighbour upscaling keeps 28-px pixels sharp), or
 * undefined with the reason when the source is not reachable from here (an s3:// source, a moved folder).
 */
export async function rowThumbnail(
  meta: EmbeddingsMeta,
  name: string,
  size: number,
): Promise<{ png: Buffer } | { missing: string }> {
  const { uri, format } = meta.source;
  if (/^s3:\/\//.test(uri))
    return { missing: `source ${uri} is in S3; images are shown for local sources only` };
  if (!existsSync(uri)) return { missing: `source ${uri} is not on this machine` };
  if (format === 'folder') {
    const file = join(uri, name);
    if (!existsSync(file)) return { missing: `${file} no longer exists` };
    return { png: await fileThumbnail(file, size) };
  }
  const m = /^(train|test)\/(\d+)$/.exec(name);
  if (!m) return { missing: `row name '${name}' is not <split>/<index>` };
  const data = await loadSplit(meta, m[1] as 'train' | 'test');
  const i = Number(m[2]);
  if (i >= data.count) return { missing: `${name}: the source has ${data.count} ${m[1]} images` };
  const { height, width, channels } = data.shape;
  const bytes = height * width * channels;
  const png = await sharp(Buffer.from(data.pixels.subarray(i * bytes, (i + 1) * bytes)), {
    raw: { width, height, channels },
  })
    .resize(size, size, { kernel: 'nearest' })
    .png()
    .toBuffer();
  return { png };
}
