/**
 * The bounded fan-out of the per-shard work (sharding a split, precomputing an epoch's views): at most
 * HISTORY_BOUNDS.maxActivitiesPerFanOut activities, each on a contiguous range of shards, so that the
 * events one fan-out adds to a workflow history do not grow with the dataset (config/history-bounds.ts).
 *
 * @example
 *   shardRanges(626); // 32 ranges: [0, 20), [20, 40), …, [620, 626)
 *   shardRanges(5); // [0, 1), [1, 2), …, [4, 5): one shard per activity, as before the bound
 */
import { HISTORY_BOUNDS } from '../config/history-bounds';
import type { ShardRange } from '../contracts/dataset';

/**
 * The patch id from which the workflows pass a DatasetRef instead of the manifest and fan out over shard
 * ranges (shardDatasetRange, commitDatasetShards, precomputeAugmentationRange) instead of single shards;
 * executions that started before it replay with the per-shard activities and the manifest.
 */
export const BOUNDED_HISTORY_PATCH = 'bounded-history';

export function shardRanges(
  shards: number,
  maxActivities: number = HISTORY_BOUNDS.maxActivitiesPerFanOut,
): ShardRange[] {
  const size = Math.max(1, Math.ceil(shards / maxActivities));
  const ranges: ShardRange[] = [];
  for (let from = 0; from < shards; from += size) ranges.push({ from, to: Math.min(shards, from + size) });
  return ranges;
}

/** '21-40/626' (1-based, inclusive) for activity summaries, or '3/5' for a range of one (as before ranges). */
export function rangeText(range: ShardRange, shards: number): string {
  return range.to - range.from === 1 ? `${range.to}/${shards}` : `${range.from + 1}-${range.to}/${shards}`;
}
