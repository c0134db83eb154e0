/**
 * The identity of a store: a random id written once at its root (`store-id.json`, with the store's
 * credential-free location) by the first process that uses it. Two processes see the same id exactly
 * when they see the same data, whatever they call the store (localhost or 127.0.0.1, a symlinked
 * folder), and a worker pointed at another store (the filesystem default instead of the run's MinIO)
 * sees another id. It travels with an experiment (never the credentials) so each activity can check
 * that its worker works on the experiment's store (activities/interceptors.ts).
 *
 * @example
 *   const ref = await storeIdentity(store); // { id: 'st-3f9c…', location: 's3://simclr' }
 */
import { randomBytes } from 'node:crypto';
import { BlobNotFoundError, type BlobStore } from './blob-store';

/** Where the id lives, at the root of the store. */
export const STORE_ID_KEY = 'store-id.json';

/** What identifies a store to the workflows: its id, and its location for messages. */
export interface StoreRef {
  id: string;
  location: string;
}

const known = new WeakMap<BlobStore, Promise<StoreRef>>();

async function readId(store: BlobStore): Promise<string | undefined> {
  try {
    const doc = JSON.parse((await store.get(STORE_ID_KEY)).toString('utf8')) as { id?: unknown };
    if (typeof doc.id === 'string' && doc.id !== '') return doc.id;
    throw new Error(`${store.location}/${STORE_ID_KEY} holds no id`);
  } catch (err) {
    if (err instanceof BlobNotFoundError) return undefined;
    throw err;
  }
}

async function identify(store: BlobStore): Promise<StoreRef> {
  let id = await readId(store);
  if (id === undefined) {
    const doc = {
      id: `st-${randomBytes(8).toString('hex')}`,
      location: store.location,
      createdAt: new Date().toISOString(),
    };
    await store.put(STORE_ID_KEY, JSON.stringify(doc, null, 2) + '\n');
    // Read back: of two first users writing at once, both go on with the one that stayed.
    id = (await readId(store)) ?? doc.id;
  }
  return { id, location: store.location };
}

/** The store's id (created on first use), read once per store object. */
export function storeIdentity(store: BlobStore): Promise<StoreRef> {
  let ref = known.get(store);
  if (!ref) {
    ref = identify(store);
    ref.catch(() => known.delete(store)); // a failed read is tried again next time
    known.set(store, ref);
  }
  return ref;
}
