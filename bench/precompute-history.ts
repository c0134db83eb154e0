/**
 * The augmentation precompute of one experiment, read back from its workflow histories: every
 * `precomputeAugmentations` activity that computed views (not one that found them already written),
 * with the identity of the worker that ran it (ActivityTaskStarted `identity`, `<pid>@<host>` by
 * default), its views (2 × the result's `count`) and its start and completion times (server clock).
 * `bench scale-out` (./scale-out.ts) turns them into throughput and spread across workers.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time';
import type { PrecomputeResult } from '../contracts/augment';

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
      if (s?.activityType?.name === 'precomputeAugmentations') scheduled.add(String(e.eventId));
      const st = e.activityTaskStartedEventAttributes;
      if (st && scheduled.has(String(st.scheduledEventId)))
        started.set(String(e.eventId), { identity: st.identity ?? '?', ms: tsToMs(e.eventTime) });
      const c = e.activityTaskCompletedEventAttributes;
      const start = c ? started.get(String(c.startedEventId)) : undefined;
      const payload = c?.result?.payloads?.[0];
      if (!start || !payload) continue;
      const result = defaultPayloadConverter.fromPayload<PrecomputeResult>(payload);
      if (result.skipped) continue;
      out.push({
        identity: start.identity,
        views: 2 * result.count,
        startedMs: start.ms,
        completedMs: tsToMs(e.eventTime),
      });
    }
  }
  return out.sort((a, b) => a.startedMs - b.startedMs);
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
