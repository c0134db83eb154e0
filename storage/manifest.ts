/**
 * Commit by manifest last: how a multi-object output (a dataset's shards, a checkpoint's weight
 * files, an epoch's augmented views) becomes visible all at once.
 *
 * 1. Write every data object under `<prefix>/` first (each put is atomic on its own).
 * 2. Then write `<prefix>/MANIFEST.json` with writeManifest: a single atomic put.
 *
 * A prefix is committed exactly when its manifest exists. A crash before step 2 leaves data objects
 * without a manifest: readers treat the prefix as absent (isCommitted is false) and the retried
 * activity rewrites them; a crash after it leaves the complete output. Readers must look at the
 * manifest first and only then at the data, and writers must never write the manifest first.
 *
 * @example
 *   for (const [i, shard] of shards.entries()) await store.put(`datasets/${id}/shard-${i}.bin`, shard);
 *   await writeManifest(store, `datasets/${id}`, { shards: shards.length, images: n });
 *   const m = await readManifest(store, `datasets/${id}`, datasetManifestSchema); // undefined until then
 */
import type { z } from 'zod';
import { CorruptObjectError } from '../contracts/errors';
import { BlobNotFoundError, type BlobStore } from './blob-store';
import { joinKey, validateKey } from './keys';

export const MANIFEST_NAME = 'MANIFEST.json';

/** The key of the manifest of `prefix` (`a/b` and `a/b/` both give `a/b/MANIFEST.json`). */
export function manifestKey(prefix: string): string {
  return validateKey(joinKey(prefix, MANIFEST_NAME));
}

/** Commits `prefix`: writes its manifest (pretty JSON). Call only after every data object is written. */
export async function writeManifest(store: BlobStore, prefix: string, manifest: object): Promise<void> {
  await store.put(manifestKey(prefix), `${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * The manifest of `prefix`, or undefined when the prefix is not committed. With a zod schema the
 * manifest is validated (and typed); an invalid manifest is an error that names its key (a
 * CorruptObjectError when it is not JSON at all: truncated or overwritten).
 */
export async function readManifest<T = unknown>(
  store: BlobStore,
  prefix: string,
  schema?: z.ZodType<T>,
): Promise<T | undefined> {
  const key = manifestKey(prefix);
  let text: string;
  try {
    text = (await store.get(key)).toString('utf8');
  } catch (err) {
    if (err instanceof BlobNotFoundError) return undefined;
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CorruptObjectError(key, store.location, `not valid JSON: ${(err as Error).message}`);
  }
  if (!schema) return value as T;
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`manifest ${key} in ${store.location} does not match its schema: ${issues}`);
  }
  return parsed.data;
}

/** Whether `prefix` has been committed, i.e. its manifest exists. */
export async function isCommitted(store: BlobStore, prefix: string): Promise<boolean> {
  return store.exists(manifestKey(prefix));
}
