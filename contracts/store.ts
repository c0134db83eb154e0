/**
 * The store a run's data lives in, as it travels with the run: its id and location (storage/store-id.ts),
 * never its credentials. Workflows pass it to every activity in the `simclr-store` header
 * (workflows/store-header.ts), and each activity checks it against its worker's own store
 * (activities/interceptors.ts).
 */
export interface StoreRef {
  id: string;
  location: string;
}

/** The name of the header that carries the StoreRef from workflows to activities. */
export const STORE_HEADER = 'simclr-store';
