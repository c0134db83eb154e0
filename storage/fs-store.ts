/**
 * The embedded default store: one folder on the local disk, a key `a/b/c.bin` being the file
 * `<root>/a/b/c.bin`.
 *
 * Writes are atomic and durable: the bytes go to a uniquely named temporary file in the target's own
 * folder, which is fsync'ed and then renamed over the target (rename is atomic within one
 * filesystem), and the folder is fsync'ed so the rename survives a power cut. Readers therefore see
 * the old object or the whole new one; concurrent writers of one key each rename a complete file, and
 * the last rename wins. Temporary names start with TEMP_MARKER, which no key may contain, so they never
 * show up in `list`.
 *
 * Keys never leave the root: they are validated (./keys.ts), and every path is resolved with
 * realpath and checked to lie inside the root, so a symbolic link placed inside the root that points
 * outside is refused (InvalidKeyError) instead of followed. `list` does not follow symbolic links.
 *
 * As in S3 (MinIO), a key cannot be both an object and the folder of other objects ('a' and 'a/b').
 *
 * @example
 *   const store = new FsBlobStore(defaultStoreRoot());
 *   await store.put('datasets/abc/shard-00000.bin', bytes);
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, realpath, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import {
  BlobNotFoundError,
  InvalidKeyError,
  type BlobStat,
  type BlobStore,
  existsByStat,
} from './blob-store';
import { TEMP_MARKER, compareKeys, validateKey, validatePrefix } from './keys';

type PutData = Buffer | Uint8Array | string | Readable;

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** ENOENT and ENOTDIR both mean "no such path" when looking a key up. */
function isMissing(err: unknown): boolean {
  const code = errCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class FsBlobStore implements BlobStore {
  /** Absolute path of the root folder (as given; symbolic links in it are resolved on use). */
  readonly root: string;
  readonly location: string;
  private realRoot: string | undefined;

  /** The root folder is created on the first write; reads from a missing root find nothing. */
  constructor(root: string) {
    this.root = resolve(root);
    this.location = pathToFileURL(this.root).href;
  }

  /** The root's real path; undefined when it does not exist and `create` is false. */
  private async resolveRoot(create: boolean): Promise<string | undefined> {
    if (this.realRoot) return this.realRoot;
    try {
      this.realRoot = await realpath(this.root);
    } catch (err) {
      if (!isMissing(err)) throw err;
      if (!create) return undefined;
      await mkdir(this.root, { recursive: true });
      this.realRoot = await realpath(this.root);
    }
    return this.realRoot;
  }

  private checkInside(realRoot: string, real: string, key: string): void {
    if (real !== realRoot && !real.startsWith(realRoot + sep)) {
      throw new InvalidKeyError(
        key,
        `resolves to ${real}, outside the store root ${realRoot} (through a symbolic link)`,
      );
    }
  }

  /** The real path of an existing object, checked to lie inside the root; BlobNotFoundError otherwise. */
  private async existingPath(key: string): Promise<string> {
    validateKey(key);
    const realRoot = await this.resolveRoot(false);
    if (!realRoot) throw new BlobNotFoundError(key, this.location);
    let real: string;
    try {
      real = await realpath(join(realRoot, ...key.split('/')));
    } catch (err) {
      if (isMissing(err)) throw new BlobNotFoundError(key, this.location);
      throw err;
    }
    this.checkInside(realRoot, real, key);
    return real;
  }

  /**
   * The real path of the folder that holds `key` (created when `create`), checked to lie inside the
   * root, joined with the key's last segment. Undefined when the folder is missing and not created.
   */
  private async parentPath(
    key: string,
    create: boolean,
  ): Promise<{ realRoot: string; path: string } | undefined> {
    validateKey(key);
    const realRoot = await this.resolveRoot(create);
    if (!realRoot) return undefined;
    const segments = key.split('/');
    const name = segments.pop()!;
    const dir = join(realRoot, ...segments);
    if (create) {
      // Check the deepest existing ancestor before mkdir, which would follow a symbolic link outward.
      let existing = dir;
      for (;;) {
        try {
          this.checkInside(realRoot, await realpath(existing), key);
          break;
        } catch (err) {
          if (!isMissing(err)) throw err;
          existing = dirname(existing);
        }
      }
      try {
        await mkdir(dir, { recursive: true });
      } catch (err) {
        if (errCode(err) === 'ENOTDIR' || errCode(err) === 'EEXIST')
          throw this.objectIsFolderError(key, 'put');
        throw err;
      }
    }
    let realDir: string;
    try {
      realDir = await realpath(dir);
    } catch (err) {
      if (isMissing(err) && !create) return undefined;
      throw err;
    }
    this.checkInside(realRoot, realDir, key);
    return { realRoot, path: join(realDir, name) };
  }

  private objectIsFolderError(key: string, op: string): Error {
    return new Error(
      `cannot ${op} '${key}' in ${this.location}: a key cannot be both an object and the folder of other objects ` +
        `(one of its parent paths is an object, or other keys live under '${key}/')`,
    );
  }

  /**
   * Writes the data to a fresh temporary file in the folder of `key`, fsync'ed and closed. A concurrent
   * delete may prune the freshly created folder before the file is created in it (ENOENT): the folder
   * is then created again (the data has not been read yet, so a stream is still whole).
   */
  private async writeTemp(key: string, data: PutData): Promise<{ tmp: string; target: string }> {
    for (let attempt = 1; ; attempt++) {
      const target = (await this.parentPath(key, true))!.path;
      const tmp = join(dirname(target), `${TEMP_MARKER}${randomBytes(12).toString('hex')}`);
      let handle;
      try {
        handle = await open(tmp, 'wx', 0o644);
      } catch (err) {
        if (errCode(err) === 'ENOENT' && attempt < 5) continue;
        throw err;
      }
      try {
        if (typeof data === 'string' || data instanceof Uint8Array) {
          await handle.writeFile(data);
        } else {
          for await (const chunk of data as AsyncIterable<Buffer | string>) {
            const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
            // handle.write may write less than asked; loop until the chunk is out.
            for (let off = 0; off < bytes.length;) off += (await handle.write(bytes, off)).bytesWritten;
          }
        }
        await handle.sync();
      } catch (err) {
        await handle.close().catch(() => {});
        await unlink(tmp).catch(() => {});
        throw err;
      }
      await handle.close();
      return { tmp, target };
    }
  }

  async put(key: string, data: PutData): Promise<void> {
    const { tmp, target } = await this.writeTemp(key, data);
    try {
      await rename(tmp, target);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      if (errCode(err) === 'EISDIR' || errCode(err) === 'ENOTEMPTY')
        throw this.objectIsFolderError(key, 'put');
      throw err;
    }
    await fsyncDir(dirname(target));
  }

  async get(key: string): Promise<Buffer> {
    const path = await this.existingPath(key);
    try {
      return await readFile(path);
    } catch (err) {
      if (isMissing(err) || errCode(err) === 'EISDIR') throw new BlobNotFoundError(key, this.location);
      throw err;
    }
  }

  async getStream(key: string): Promise<Readable> {
    const path = await this.existingPath(key);
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      if (isMissing(err)) throw new BlobNotFoundError(key, this.location);
      throw err;
    }
    // Opened before returning, so a missing key fails here and a later rename cannot change what is read.
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw new BlobNotFoundError(key, this.location);
    }
    return handle.createReadStream();
  }

  async stat(key: string): Promise<BlobStat> {
    const path = await this.existingPath(key);
    try {
      const st = await stat(path);
      if (!st.isFile()) throw new BlobNotFoundError(key, this.location);
      return { key, size: st.size, modified: st.mtime };
    } catch (err) {
      if (isMissing(err)) throw new BlobNotFoundError(key, this.location);
      throw err;
    }
  }

  exists(key: string): Promise<boolean> {
    return existsByStat((k) => this.stat(k), key);
  }

  async list(prefix: string): Promise<BlobStat[]> {
    validatePrefix(prefix);
    const realRoot = await this.resolveRoot(false);
    if (!realRoot) return [];
    const cut = prefix.lastIndexOf('/');
    const folderKey = cut < 0 ? '' : prefix.slice(0, cut);
    const namePrefix = prefix.slice(cut + 1);
    let start: string;
    try {
      start = await realpath(folderKey ? join(realRoot, ...folderKey.split('/')) : realRoot);
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
    this.checkInside(realRoot, start, prefix);

    const keys: string[] = [];
    const walk = async (dir: string, keyPrefix: string, top: boolean): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) return; // removed by a concurrent deletePrefix
        throw err;
      }
      for (const entry of entries) {
        if (entry.name.startsWith(TEMP_MARKER)) continue;
        if (top && !entry.name.startsWith(namePrefix)) continue;
        const key = keyPrefix + entry.name;
        if (entry.isDirectory()) await walk(join(dir, entry.name), `${key}/`, false);
        else if (entry.isFile()) keys.push(key);
        // Symbolic links and special files are not objects and are never followed.
      }
    };
    await walk(start, folderKey ? `${folderKey}/` : '', true);

    const stats: BlobStat[] = [];
    for (const key of keys.sort(compareKeys)) {
      try {
        const st = await stat(join(start, key.slice(folderKey ? folderKey.length + 1 : 0)));
        stats.push({ key, size: st.size, modified: st.mtime });
      } catch (err) {
        if (!isMissing(err)) throw err; // deleted since the walk
      }
    }
    return stats;
  }

  async delete(key: string): Promise<void> {
    const found = await this.parentPath(key, false);
    if (!found) return;
    try {
      await unlink(found.path);
    } catch (err) {
      // A folder of other keys is not the object `key`: as in S3, deleting it is a no-op.
      if (isMissing(err) || errCode(err) === 'EISDIR') return;
      throw err;
    }
    await this.pruneEmptyFolders(found.realRoot, [dirname(found.path)]);
  }

  async deletePrefix(prefix: string): Promise<number> {
    const objects = await this.list(prefix);
    const realRoot = await this.resolveRoot(false);
    if (!realRoot || objects.length === 0) return 0;
    let deleted = 0;
    const folders = new Set<string>();
    for (const { key } of objects) {
      const path = join(realRoot, ...key.split('/'));
      try {
        await unlink(path);
        deleted++;
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
      folders.add(dirname(path));
    }
    await this.pruneEmptyFolders(realRoot, [...folders]);
    return deleted;
  }

  /**
   * Removes folders left empty, deepest first, up to (not including) the root, so that a deleted
   * folder's name can become an object key again, as in S3 where folders do not exist.
   */
  private async pruneEmptyFolders(realRoot: string, folders: string[]): Promise<void> {
    const done = new Set<string>();
    for (const start of folders.sort((a, b) => b.length - a.length)) {
      for (
        let dir = start;
        dir !== realRoot && dir.startsWith(realRoot + sep) && !done.has(dir);
        dir = dirname(dir)
      ) {
        done.add(dir);
        try {
          await rmdir(dir);
        } catch (err) {
          if (!isMissing(err)) break; // not empty: its parents are not empty either
        }
      }
    }
  }
}
