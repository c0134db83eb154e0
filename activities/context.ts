/**
 * What every activity shares: the store of this worker process (from env, never from workflow input),
 * heartbeats, cancellation, and the mapping of bad-input errors onto non-retryable failures.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { BlobStore } from '../storage/blob-store';
import { openStore } from '../storage/open';
import { storeUriFromEnv } from '../infra/paths';
import { isNonRetryableError } from '../contracts/errors';
import { initBackend, type BackendChoice, type BackendInfo } from '../simclr/backend';

const stores = new Map<string, Promise<BlobStore>>();

/** The URI of this process's store: $SIMCLR_STORE, else the filesystem store under the data root. */
export function storeUri(): string {
  return storeUriFromEnv();
}

/** The store of this worker process (opened once). */
export function activityStore(): Promise<BlobStore> {
  const uri = storeUri();
  let store = stores.get(uri);
  if (!store) {
    store = openStore(uri);
    store.catch(() => stores.delete(uri)); // a failed open is retried by the next activity
    stores.set(uri, store);
  }
  return store;
}

/** Loads the TensorFlow backend (once per process): $SIMCLR_BACKEND overrides the experiment's choice. */
export async function activityBackend(requested: BackendChoice): Promise<BackendInfo> {
  const choice = (process.env.SIMCLR_BACKEND as BackendChoice | undefined) ?? requested;
  return initBackend(choice, (line) => log().info(line));
}

/** The activity logger, or the console outside an activity (tests, CLI). */
export function log(): {
  info(m: string, a?: Record<string, unknown>): void;
  warn(m: string, a?: Record<string, unknown>): void;
} {
  try {
    return Context.current().log;
  } catch {
    return { info: (m) => console.error(m), warn: (m) => console.error(m) };
  }
}

/** Heartbeat when running inside an activity; a no-op elsewhere. */
export function heartbeat(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // not in an activity context
  }
}

/** How far a long loop inside an activity is: its stage and the units of work done (of `total`, when known). */
export interface Progress {
  stage: string;
  done: number;
  total?: number;
}

/**
 * A progress reporter for the long loops of an activity (decoding, listing, feature extraction, kNN):
 * every call heartbeats `{ ...base, progress }`, so the heartbeat timeout measures one unit of work
 * (an image, a directory, a batch), never a whole loop. `base` keeps what a retry needs (pretrainEpoch's
 * checkpoint key). Calling per unit is cheap: the worker keeps only the latest pending details and the
 * SDK throttles what reaches the server to a fraction of the heartbeat timeout.
 */
export function progressHeartbeat(
  base: object = {},
): (stage: string) => (done: number, total?: number) => void {
  return (stage) => (done, total) =>
    heartbeat({ ...base, progress: { stage, done, total } satisfies Progress });
}

/** The heartbeat timeout of the current activity in milliseconds (undefined outside an activity, or unset). */
export function heartbeatTimeoutMs(): number | undefined {
  try {
    return Context.current().info.heartbeatTimeoutMs || undefined;
  } catch {
    return undefined;
  }
}

/** Heartbeat details of the previous attempt, if this is a retry that had heartbeated. */
export function previousHeartbeat<T>(): T | undefined {
  try {
    return Context.current().info.heartbeatDetails as T | undefined;
  } catch {
    return undefined;
  }
}

/** True once cancellation was requested for the current activity. */
export function cancellationRequested(): boolean {
  try {
    return Context.current().cancellationSignal.aborted;
  } catch {
    return false;
  }
}

/**
 * Runs an activity body, turning bad-input errors (the classes of contracts/errors.ts, matched by class,
 * not by name) into non-retryable failures that keep their message and type.
 */
export async function guard<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (isNonRetryableError(err)) throw ApplicationFailure.nonRetryable(err.message, err.name);
    throw err;
  }
}
