/**
 * The augmentation precompute of one experiment, read back from its workflow histories: every
 * `precomputeAugmentationRange` activity (or `precomputeAugmentations`, as runs before the bounded
 * history scheduled it) that computed views (not one that found them all already written), with the
 * identity of the worker that ran it (ActivityTaskStarted `identity`, `<pid>@<host>` by default), the
 * views it computed (2 per image of the shards it did not find written) and its start and completion
 * times (server clock).
 * `bench scale-out` (./scale-out.ts) turns them into throughput and spread across workers.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time';
import type { PrecomputeRangeResult, PrecomputeResult } from '../contracts/augment';

const PRECOMPUTE_ACTIVITIES = new Set(['precomputeAugmentationRange', 'precomputeAugmentations']);

export interface PrecomputeActivity {
  identity: string;
  views: number;
  startedMs: number;
  completedMs: number;
}

/**
 * The precompute activities of every workflow run whose id starts with `experimentId` (the experiment,
 * its pretrain loop and each of the loop's continued-as-new runs, and any child workflow under it).
 */
export async function precomputeActivities(
  client: Client,
  experimentId: string,
): Promise<PrecomputeActivity[]> {
  const out: PrecomputeActivity[] = [];
  for await (const run of client.workflow.list()) {
    if (!run.workflowId.startsWith(experimentId)) continue;
    const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    const scheduled = new Set<string>();
    const started = new Map<string, { identity: string; ms: number }>();
    for (const e of history.events ?? []) {
      const s = e.activityTaskScheduledEventAttributes;
      if (PRECOMPUTE_ACTIVITIES.has(s?.activityType?.name ?? '')) scheduled.add(String(e.eventId));
      const st = e.activityTaskStartedEventAttributes;
      if (st && scheduled.has(String(st.scheduledEventId)))
        started.set(String(e.eventId), { identity: st.identity ?? '?', ms: tsToMs(e.eventTime) });
      const c = e.activityTaskCompletedEventAttributes;
      const start = c ? started.get(String(c.startedEventId)) : undefined;
      const payload = c?.result?.payloads?.[0];
      if (!start || !payload) continue;
      const views = computedViews(defaultPayloadConverter.fromPayload(payload));
      if (views === 0) continue;
      out.push({
        identity: start.identity,
        views,
        startedMs: start.ms,
        completedMs: tsToMs(e.eventTime),
      });
    }
  }
  return out.sort((a, b) => a.startedMs - b.startedMs);
}

/** Views a precompute result computed: none for shards found written (a range's `reused`, a shard's `skipped`). */
function computedViews(result: PrecomputeRangeResult | PrecomputeResult): number {
  if ('shards' in result) {
    const n = result.shards.to - result.shards.from;
    return n > 0 ? Math.round((2 * result.images * (n - result.reused)) / n) : 0;
  }
  return result.skipped ? 0 : 2 * result.count;
}

/** Milliseconds during which at least one of the activities ran (the union of their intervals). */
export function busyMs(activities: PrecomputeActivity[]): number {
  let total = 0;
  let end = -Infinity;
  for (const a of [...activities].sort((x, y) => x.startedMs - y.startedMs)) {
    if (a.completedMs <= end) continue;
    total += a.completedMs - Math.max(a.startedMs, end);
    end = a.completedMs;
  }
  return total;
}
