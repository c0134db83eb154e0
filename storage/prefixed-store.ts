/**
 * A view of another store under a fixed key prefix: key `k` is `<prefix>/k` in the inner store, and
 * `list`/`deletePrefix` see only that subtree, with keys relative to it. This is how
 * `s3://bucket/some/prefix` shares one bucket between deployments or experiments.
 *
 * @example
 *   const store = new PrefixedStore(await MinioBlobStore.fromEnv('simclr'), 'team-a');
 *   await store.put('x.bin', bytes); // s3://simclr/team-a/x.bin
 */
import type { Readable } from 'node:stream';
import type { BlobStat, BlobStore } from './blob-store';
import { BlobNotFoundError } from './blob-store';
import { joinKey, validateKey, validatePrefix } from './keys';

export class PrefixedStore implements BlobStore {
  readonly location: string;
  /** The prefix without a trailing '/'. */
  readonly prefix: string;

  constructor(
    readonly inner: BlobStore,
    prefix: string,
  ) {
    this.prefix = validateKey(joinKey(prefix));
    this.location = `${inner.location.replace(/\/+$/, '')}/${this.prefix}`;
  }

  private outer(key: string): string {
    return `${this.prefix}/${validateKey(key)}`;
  }

  /** Rethrows BlobNotFoundError with this store's key and location, so messages match what was asked. */
  private async mapped<T>(key: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (err instanceof BlobNotFoundError) throw new BlobNotFoundError(key, this.location);
      throw err;
    }
  }

  // Every method is async so that an invalid key rejects the promise instead of throwing.
  async put(key: string, data: Buffer | Uint8Array | string | Readable): Promise<void> {
    return this.inner.put(this.outer(key), data);
  }

  async get(key: string): Promise<Buffer> {
    return this.mapped(key, () => this.inner.get(this.outer(key)));
  }

  async getStream(key: string): Promise<Readable> {
    return this.mapped(key, () => this.inner.getStream(this.outer(key)));
  }

  async stat(key: string): Promise<BlobStat> {
    const st = await this.mapped(key, () => this.inner.stat(this.outer(key)));
    return { ...st, key };
  }

  async exists(key: string): Promise<boolean> {
    return this.inner.exists(this.outer(key));
  }

  async list(prefix: string): Promise<BlobStat[]> {
    validatePrefix(prefix);
    const cut = this.prefix.length + 1;
    return (await this.inner.list(`${this.prefix}/${prefix}`)).map((s) => ({ ...s, key: s.key.slice(cut) }));
  }

  async delete(key: string): Promise<void> {
    return this.inner.delete(this.outer(key));
  }

  async deletePrefix(prefix: string): Promise<number> {
    validatePrefix(prefix);
    return this.inner.deletePrefix(`${this.prefix}/${prefix}`);
  }
}
