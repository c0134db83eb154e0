/**
 * The records of scheduled retraining in the store (storage/layout.ts scheduleKeys): the completed
 * runs of a schedule with their lineage, the promotion decisions, and the current model. Written by
 * the retrain activities (activities/retrain.ts), read by them and by `simclr models`.
 */
import type { CurrentModel, PromotionDecision, ScheduledRunRecord } from '../contracts/retrain';
import type { BlobStore } from './blob-store';
import { scheduleKeys } from './layout';

async function readJson<T>(store: BlobStore, key: string): Promise<T> {
  const text = (await store.get(key)).toString('utf8');
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`${key} in ${store.location} is not valid JSON: ${(err as Error).message}`);
  }
}

async function readAll<T>(store: BlobStore, prefix: string): Promise<T[]> {
  const objects = (await store.list(prefix)).filter((o) => o.key.endsWith('.json'));
  return Promise.all(objects.map((o) => readJson<T>(store, o.key)));
}

/** The schedule's completed runs, oldest first. */
export async function readScheduledRuns(store: BlobStore, schedule: string): Promise<ScheduledRunRecord[]> {
  const runs = await readAll<ScheduledRunRecord>(store, scheduleKeys(schedule).runs);
  return runs.sort((a, b) => a.completedAt.localeCompare(b.completedAt));
}

/** The schedule's promotion decisions (promoted or refused), oldest first. */
export async function readPromotions(store: BlobStore, schedule: string): Promise<PromotionDecision[]> {
  const all = await readAll<PromotionDecision>(store, scheduleKeys(schedule).promotions);
  return all.sort((a, b) => a.decidedAt.localeCompare(b.decidedAt));
}

/** The schedule's current model, or undefined before its first promotion. */
export async function readCurrentModel(
  store: BlobStore,
  schedule: string,
): Promise<CurrentModel | undefined> {
  const key = scheduleKeys(schedule).current;
  return (await store.exists(key)) ? readJson<CurrentModel>(store, key) : undefined;
}

export async function writeJson(store: BlobStore, key: string, value: unknown): Promise<void> {
  await store.put(key, JSON.stringify(value, null, 2) + '\n');
}
