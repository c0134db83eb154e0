/**
 * Where a dataset source lives: a local path, or s3://bucket/prefix in MinIO / S3 (credentials from
 * env). An S3 source is mirrored once into a local cache folder keyed by its listing, so the readers
 * in simclr/datasets work on files either way.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fingerprint } from '../config/fingerprint';
import { simclrHome } from '../infra/paths';
import { InvalidKeyError } from '../storage/blob-store';
import { validateKey } from '../storage/keys';
import { MinioBlobStore } from '../storage/minio-store';
import { entryKind } from '../simclr/datasets/folder';
import { checkSourceFolder, DatasetError } from '../simclr/datasets/source';
import { redact } from '../storage/redact';
import { heartbeat, progressHeartbeat } from './context';

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

interface ListedFile {
  path: string;
  size: number;
  mtimeMs: number;
}

/** Files stat'ed between two progress heartbeats of the walk. */
export const WALK_FILES_PER_HEARTBEAT = 256;

/**
 * Every file under `root` for the source's fingerprint. Follows symbolic links the way the image-folder
 * listing does (simclr/datasets/folder.ts: entryKind), so a linked class folder changes the dataset id
 * when its files change; never enters a folder it is already inside (link loops). Heartbeats after
 * every directory and every WALK_FILES_PER_HEARTBEAT files: a big folder is a long walk.
 */
async function walk(root: string): Promise<ListedFile[]> {
  const out: ListedFile[] = [];
  const report = progressHeartbeat()('list source files');
  let sinceHeartbeat = 0;
  const visit = async (dir: string, ancestors: ReadonlySet<string>): Promise<void> => {
    const real = await realpath(dir);
    if (ancestors.has(real)) return;
    const inside = new Set(ancestors).add(real);
    for (const d of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, d.name);
      const kind = await entryKind(dir, d);
      if (kind === 'dir') await visit(p, inside);
      else if (kind === 'file') {
        const s = await stat(p);
        out.push({ path: p, size: s.size, mtimeMs: Math.floor(s.mtimeMs) });
        if (++sinceHeartbeat === WALK_FILES_PER_HEARTBEAT) {
          sinceHeartbeat = 0;
          report(out.length);
        }
      }
    }
    report(out.length);
  };
  await visit(root, new Set());
  return out;
}

export async function locateSource(source: string): Promise<SourceLocation> {
  if (source.startsWith('s3://')) return mirrorS3(source);
  const localPath = resolve(source.replace(/^file:\/\//, ''));
  checkSourceFolder(localPath); // a missing path, or a file where the source folder is expected
  const files = await walk(localPath);
  if (files.length === 0) throw new DatasetError(`dataset.source: '${redact(source)}' holds no files`);
  const listing = files.map((f) => [relative(localPath, f.path), f.size, f.mtimeMs]).sort();
  return { localPath, contentId: fingerprint({ local: localPath, listing }) };
}

/** How a mirror went: objects fetched now, objects a previous attempt had already fetched. */
export interface MirrorStats {
  downloaded: number;
  skipped: number;
  /** Folder markers (zero-byte `dir/` objects some tools create) that were left out. */
  folderMarkers: number;
}

/** A folder marker: an object named like a folder (`prefix/sub/`), made by consoles and sync tools. */
function isFolderMarker(key: string, size: number): boolean {
  return key.endsWith('/') && size === 0;
}

/**
 * The path of `key` below the mirror folder: refused (a non-retryable DatasetError naming the key) when
 * it is empty or has '.', '..' or empty segments, a leading '/', backslashes or control characters,
 * which could write outside the cache or collide with another file.
 */
export function mirroredPath(uri: string, key: string, prefix: string): string {
  const rel = key.slice(prefix.length);
  try {
    validateKey(rel);
  } catch (err) {
    const why = err instanceof InvalidKeyError ? err.message.replace(/^invalid storage key '.*?': /, '') : '';
    throw new DatasetError(
      `dataset.source ${redact(uri)}: object key '${key}' cannot be mirrored to a file${why ? `: ${why}` : ''}`,
    );
  }
  return rel;
}

/**
 * Mirrors s3://bucket/prefix into $SIMCLR_HOME/cache/sources/<contentId>, where contentId is the
 * fingerprint of the listing (keys, sizes, modification times): a changed source is a new mirror.
 *
 * Resumable and safe to run concurrently (a retried attempt, two experiments on one source): objects go
 * into `<contentId>.partial/`, each through a temporary file of its own renamed into place, so a file
 * there is always whole; a retry keeps the files of the same size that earlier attempts left and fetches
 * the rest. When all are there, `.complete` is written and the folder renamed to its final name in one
 * step; a mirror that finds the final folder complete (another finished first) uses it.
 */
export async function mirrorS3(uri: string): Promise<SourceLocation & { mirror: MirrorStats }> {
  const { bucket, prefix } = parseS3(uri);
  let store: MinioBlobStore;
  try {
    store = await MinioBlobStore.fromEnv(bucket);
  } catch (err) {
    throw new DatasetError(`dataset.source ${redact(uri)}: ${redact((err as Error).message)}`);
  }
  const listed = await store.list(prefix);
  const objects = listed.filter((o) => !isFolderMarker(o.key, o.size));
  const stats: MirrorStats = { downloaded: 0, skipped: 0, folderMarkers: listed.length - objects.length };
  if (objects.length === 0) throw new DatasetError(`dataset.source: no objects under ${redact(uri)}`);
  const files = objects.map((o) => ({ ...o, rel: mirroredPath(uri, o.key, prefix) }));
  const contentId = fingerprint({
    s3: `${bucket}/${prefix}`,
    listing: objects.map((o) => [o.key, o.size, o.modified.toISOString()]),
  });
  const localPath = join(simclrHome(), 'cache', 'sources', contentId);
  const done = () => existsSync(join(localPath, COMPLETE));
  if (done()) return { localPath, contentId, mirror: { ...stats, skipped: objects.length } };
  const partial = `${localPath}.partial`;
  try {
    for (const f of files) {
      if (done()) break; // another mirror finished meanwhile
      const target = join(partial, f.rel);
      if ((await sizeOf(target)) === f.size) stats.skipped++;
      else {
        await mkdir(dirname(target), { recursive: true });
        const tmpRel = `${f.rel}.part-${process.pid}-${randomBytes(4).toString('hex')}`;
        const tmp = join(partial, tmpRel);
        try {
          await pipeline(await store.getStream(f.key), createWriteStream(tmp));
          await rename(tmp, target);
        } finally {
          await rm(tmp, { force: true });
          // A mirror that finished meanwhile renamed the folder with this file in it: remove it there.
          if (done()) await rm(join(localPath, tmpRel), { force: true });
        }
        stats.downloaded++;
      }
      heartbeat({ mirrored: stats.downloaded + stats.skipped, of: files.length });
    }
    if (!done()) {
      await writeFile(join(partial, COMPLETE), new Date().toISOString());
      await rename(partial, localPath);
    }
  } catch (err) {
    // Another mirror of the same source finished first and moved the folder away: use its result.
    if (!done()) throw err;
  }
  if (existsSync(partial) && (await sizeOf(join(localPath, COMPLETE))) !== undefined)
    await rm(partial, { recursive: true, force: true }); // what a mirror that lost the race left
  return { localPath, contentId, mirror: stats };
}

const COMPLETE = '.complete';

/** The size of a file, or undefined when it does not exist. */
async function sizeOf(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}
