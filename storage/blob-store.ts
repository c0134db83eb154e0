import type { Readable } from 'node:stream';
import { InvalidKeyError } from '../contracts/errors';

/**
 * Where every artifact of the pipeline lives: dataset shards, precomputed augmentations,
 * checkpoints, metrics and reports. Keys are relative, '/'-separated paths such as
 * `datasets/<id>/shard-00003.bin`; a store maps them onto a folder (the embedded default) or a
 * bucket (MinIO / S3). Both implementations pass the same contract suite (test/integration/storage-contract.test.ts).
 *
 * Writes are atomic per key: a reader sees either the old object or the whole new one. Multi-object
 * outputs commit by writing their data first and a small manifest last (see ./manifest.ts).
 */
export interface BlobStore {
  /** Human-readable location, e.g. `file:///var/lib/simclr` or `s3://simclr` (never credentials). */
  readonly location: string;
  put(key: string, data: Buffer | Uint8Array | string | Readable): Promise<void>;
  /** Throws BlobNotFoundError when the key does not exist. */
  get(key: string): Promise<Buffer>;
  /** Streams a (possibly large) object. Throws BlobNotFoundError when the key does not exist. */
  getStream(key: string): Promise<Readable>;
  /** Throws BlobNotFoundError when the key does not exist. */
  stat(key: string): Promise<BlobStat>;
  exists(key: string): Promise<boolean>;
  /** Every object whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<BlobStat[]>;
  /** Idempotent: deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Deletes every object under `prefix`; returns how many were deleted. */
  deletePrefix(prefix: string): Promise<number>;
}

export interface BlobStat {
  key: string;
  size: number;
  modified: Date;
}

/** The key does not exist in the store. */
export class BlobNotFoundError extends Error {
  override readonly name = 'BlobNotFoundError';
  constructor(
    readonly key: string,
    readonly location: string,
  ) {
    super(`no object '${key}' in ${location}`);
  }
}

/** The key is not a valid relative key (absolute, empty segment, '..', backslash, NUL ...); contracts/errors.ts. */
export { InvalidKeyError };

/** `exists` in terms of `stat`: true when stat succeeds, false on BlobNotFoundError. */
export async function existsByStat(stat: (key: string) => Promise<BlobStat>, key: string): Promise<boolean> {
  try {
    await stat(key);
    return true;
  } catch (err) {
    if (err instanceof BlobNotFoundError) return false;
    throw err;
  }
}
