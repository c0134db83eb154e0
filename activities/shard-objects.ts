/**
 * Shard objects read back from the store with their integrity checked (simclr/datasets/shard-format.ts:
 * length and CRC-32 over header and payload). A dataset shard or a view file whose object exists but
 * fails the check is never trusted: readers get a CorruptShardError naming the key (non-retryable: a
 * retry reads the same bytes), and producers that find one where their output should be rewrite it
 * instead of skipping the work.
 */
import { CorruptShardError } from '../contracts/errors';
import { decodeShard, type Shard } from '../simclr/datasets/shard-format';
import { BlobNotFoundError, type BlobStore } from '../storage/blob-store';

/**
 * The shard under `key`, verified; CorruptShardError (naming the key and the store) when it fails its
 * check or holds another number of images than `expectedCount` (when given).
 */
export async function readShard(store: BlobStore, key: string, expectedCount?: number): Promise<Shard> {
  const shard = decodeShard(await store.get(key), `${key} in ${store.location}`);
  if (expectedCount !== undefined && shard.count !== expectedCount)
    throw new CorruptShardError(
      `${key} in ${store.location}`,
      `${shard.count} images where ${expectedCount} were written`,
    );
  return shard;
}

/**
 * For producers: the shard under `key` when it exists and passes its check (a complete earlier output
 * to reuse), undefined when it is missing or corrupt (`onCorrupt` is told why) and must be written.
 */
export async function intactShard(
  store: BlobStore,
  key: string,
  expectedCount?: number,
  onCorrupt?: (err: CorruptShardError) => void,
): Promise<Shard | undefined> {
  try {
    return await readShard(store, key, expectedCount);
  } catch (err) {
    if (err instanceof BlobNotFoundError) return undefined;
    if (err instanceof CorruptShardError) {
      onCorrupt?.(err);
      return undefined;
    }
    throw err;
  }
}
