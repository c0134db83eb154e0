/**
 * Where a dataset source lives: a local path, or s3://bucket/prefix in MinIO / S3 (credentials from
 * env). An S3 source is mirrored once into a local cache folder keyed by its listing, so the readers
 * in simclr/datasets work on files either way.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fingerprint } from '../config/fingerprint';
import { simclrHome } from '../infra/paths';
import { MinioBlobStore } from '../storage/minio-store';
import { DatasetError } from '../simclr/datasets/source';
import { redact } from '../storage/redact';
import { heartbeat } from './context';

export interface SourceLocation {
  /** A local folder holding the source files. */
  localPath: string;
  /** A fingerprint of the source's files (names, sizes, modification times). */
  contentId: string;
}

function parseS3(uri: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new DatasetError(`dataset.source: '${redact(uri)}' is not of the form s3://bucket/prefix`);
  return { bucket: m[1], prefix: m[2] ? m[2].replace(/\/?$/, '/') : '' };
}

async function walk(dir: string): Promise<{ path: string; size: number; mtimeMs: number }[]> {
  const out: { path: string; size: number; mtimeMs: number }[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...(await walk(p)));
    else if (d.isFile()) {
      const s = await stat(p);
      out.push({ path: p, size: s.size, mtimeMs: Math.floor(s.mtimeMs) });
    }
  }
  return out;
}

export async function locateSource(source: string): Promise<SourceLocation> {
  if (source.startsWith('s3://')) return mirrorS3(source);
  const localPath = resolve(source.replace(/^file:\/\//, ''));
  if (!existsSync(localPath)) throw new DatasetError(`dataset.source: '${redact(source)}' does not exist`);
  const files = await walk(localPath);
  if (files.length === 0) throw new DatasetError(`dataset.source: '${redact(source)}' holds no files`);
  const listing = files.map((f) => [relative(localPath, f.path), f.size, f.mtimeMs]).sort();
  return { localPath, contentId: fingerprint({ local: localPath, listing }) };
}

async function mirrorS3(uri: string): Promise<SourceLocation> {
  const { bucket, prefix } = parseS3(uri);
  let store: MinioBlobStore;
  try {
    store = await MinioBlobStore.fromEnv(bucket);
  } catch (err) {
    throw new DatasetError(`dataset.source ${redact(uri)}: ${redact((err as Error).message)}`);
  }
  const objects = await store.list(prefix);
  if (objects.length === 0) throw new DatasetError(`dataset.source: no objects under ${redact(uri)}`);
  const contentId = fingerprint({
    s3: `${bucket}/${prefix}`,
    listing: objects.map((o) => [o.key, o.size, o.modified.toISOString()]),
  });
  const localPath = join(simclrHome(), 'cache', 'sources', contentId);
  if (existsSync(join(localPath, '.complete'))) return { localPath, contentId };
  const tmp = `${localPath}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  let done = 0;
  for (const o of objects) {
    const target = join(tmp, o.key.slice(prefix.length));
    await mkdir(dirname(target), { recursive: true });
    await pipeline(await store.getStream(o.key), createWriteStream(target));
    heartbeat({ mirrored: ++done, of: objects.length });
  }
  await writeFile(join(tmp, '.complete'), new Date().toISOString());
  await rm(localPath, { recursive: true, force: true });
  await mkdir(dirname(localPath), { recursive: true });
  await rename(tmp, localPath);
  return { localPath, contentId };
}
