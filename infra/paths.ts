/**
 * Where the product keeps its state on this machine. Everything lives under one data root,
 * $SIMCLR_HOME (default ~/.simclr): the filesystem store (the embedded default), and the local
 * services' data and logs (Temporal's SQLite file, MinIO's data folder).
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function simclrHome(): string {
  return resolve(process.env.SIMCLR_HOME ?? join(homedir(), '.simclr'));
}

/** Root folder of the embedded filesystem store. */
export function defaultStoreRoot(): string {
  return join(simclrHome(), 'store');
}

/** Data, logs and pid files of the local service `name`. */
export function serviceDir(name: string): string {
  return join(simclrHome(), 'services', name);
}

/** The store of this process: $SIMCLR_STORE, else the filesystem store under the data root. */
export function storeUriFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.SIMCLR_STORE ?? `file://${defaultStoreRoot()}`;
}
