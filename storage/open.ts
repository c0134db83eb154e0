/**
 * One string names a store, so configs, CLI flags and activity inputs carry a URI and never
 * credentials:
 *   /var/lib/simclr, ./store, file:///var/lib/simclr  → FsBlobStore on that folder
 *   s3://bucket                                       → MinioBlobStore on the bucket (SIMCLR_S3_* env)
 *   s3://bucket/some/prefix                           → the same, seen through PrefixedStore
 *
 * @example
 *   const store = await openStore(process.env.SIMCLR_STORE ?? defaultStoreRoot());
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BlobStore } from './blob-store';
import { FsBlobStore } from './fs-store';
import { validateKey } from './keys';
import { MinioBlobStore, isValidBucketName, minioOptionsFromEnv } from './minio-store';
import { PrefixedStore } from './prefixed-store';
import { hasUriCredentials, redact } from './redact';

/** Opens the store named by `uri`; S3 credentials come from the environment (see minio-store.ts). */
export async function openStore(uri: string, env: NodeJS.ProcessEnv = process.env): Promise<BlobStore> {
  // Every message below names the URI: never with the credentials someone put into it.
  const shown = typeof uri === 'string' ? redact(uri, env) : uri;
  if (typeof uri === 'string' && hasUriCredentials(uri))
    throw new Error(
      `invalid store URI '${shown}': credentials in the URI; give them in SIMCLR_S3_ACCESS_KEY / SIMCLR_S3_SECRET_KEY and write s3://bucket[/prefix]`,
    );
  if (typeof uri !== 'string' || uri.trim() === '')
    throw new Error('empty store location: give a folder, file:///path or s3://bucket[/prefix]');
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined) return new FsBlobStore(resolve(uri));
  if (scheme === 'file') {
    let path: string;
    try {
      path = fileURLToPath(uri);
    } catch (err) {
      throw new Error(
        `invalid file URI '${shown}': ${(err as Error).message} (expected file:///absolute/path)`,
      );
    }
    return new FsBlobStore(path);
  }
  if (scheme === 's3') {
    const rest = uri.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
    if (!isValidBucketName(bucket)) {
      throw new Error(
        `invalid store URI '${shown}': '${bucket}' is not a valid bucket name (3-63 lowercase letters, digits, '.' or '-')`,
      );
    }
    if (prefix) validateKey(prefix);
    let store: BlobStore;
    try {
      store = await MinioBlobStore.open(minioOptionsFromEnv(bucket, env));
    } catch (err) {
      throw new Error(`cannot open store ${shown}: ${redact((err as Error).message, env)}`, { cause: err });
    }
    return prefix ? new PrefixedStore(store, prefix) : store;
  }
  throw new Error(
    `unsupported store URI '${shown}': use a folder path, file:///path or s3://bucket[/prefix]`,
  );
}
