/**
 * The embed workflow (`simclr embed`): plan → for every shard of the source, shard it (the experiment's
 * own shardDataset, content-addressed: an already sharded dataset is reused) and embed it on a GPU
 * worker, `concurrency` shards at a time → write one file from the parts. Every step is a retryable,
 * idempotent activity, so a rerun (or a retried activity) skips what is complete.
 * Orchestration only (activities/embed.ts does the work).
 */
import {
  CancellationScope,
  defineQuery,
  isCancellation,
  setCurrentDetails,
  setHandler,
} from '@temporalio/workflow';
import type {
  DatasetManifest,
  EmbedInput,
  EmbedProgress,
  EmbedResult,
  EmbedShardResult,
  EmbedStage,
  Split,
} from '../contracts';
import { activityProxies } from './activity-proxies';
import { detailsText, humanSeconds } from './run-details';

export const embedProgressQuery = defineQuery<EmbedProgress>('embedProgress');

/** Runs `fn` over `items` with at most `limit` in flight (a deterministic pool of lanes). */
async function inLanes<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return results;
}

/**
 * "12/40 shards (3 reused) · 24,576/81,920 images · 850 images/s · ETA 1m 05s": the rate is wall-clock
 * since the embed stage began (sharding, queueing and forward passes together), at `nowMs`.
 */
export function embedLine(p: EmbedProgress, nowMs: number): string {
  const since = p.embedStartedAt ? (nowMs - Date.parse(p.embedStartedAt)) / 1000 : 0;
  const rate = since > 0 && p.images.done > 0 ? p.images.done / since : undefined;
  return [
    `${p.shards.done}/${p.shards.total} shards${p.shards.reused ? ` (${p.shards.reused} reused)` : ''}`,
    `${p.images.done.toLocaleString('en-US')}/${p.images.total.toLocaleString('en-US')} images`,
    ...(rate !== undefined ? [`${Math.round(rate)} images/s`] : []),
    ...(rate ? [`ETA ${humanSeconds((p.images.total - p.images.done) / rate)}`] : []),
  ].join(' · ');
}

export async function embed(input: EmbedInput): Promise<EmbedResult> {
  const { cpu, summarized } = activityProxies();
  const progress: EmbedProgress = {
    stage: 'plan',
    shards: { total: 0, done: 0, reused: 0 },
    images: { total: 0, done: 0, computed: 0 },
    embedSeconds: 0,
  };
  setHandler(embedProgressQuery, () => progress);
  const enter = (stage: EmbedStage, details?: string) => {
    progress.stage = stage;
    setCurrentDetails(detailsText(input.embedRunId, stage, [details]));
  };
  try {
    enter('plan', `${input.model} on ${input.source}`);
    const plan = await summarized(`plan: ${input.model} on ${input.source}`).cpu.planEmbedding({
      model: input.model,
      source: input.source,
      splits: input.splits,
    });
    progress.embedId = plan.embedId;
    const datasetId = plan.plan.datasetId;
    const jobs = plan.splits.flatMap((split) =>
      Array.from({ length: plan.plan.splits[split].shards }, (_, shard) => ({ split, shard })),
    );
    progress.shards.total = jobs.length;
    progress.images.total = plan.splits.reduce((n, s) => n + plan.plan.splits[s].count, 0);
    progress.embedStartedAt = new Date().toISOString();
    enter('embed', `${plan.modelDescription}\n\n${embedLine(progress, Date.now())}`);

    let manifest: DatasetManifest | undefined;
    if (plan.plan.committed) manifest = await cpu.readDatasetManifest({ datasetId });
    const total = (split: Split) => plan.plan.splits[split].shards;
    await inLanes(jobs, input.concurrency, async ({ split, shard }): Promise<EmbedShardResult> => {
      const label = `${split} shard ${shard + 1}/${total(split)}`;
      if (!manifest)
        await summarized(`shard ${label}`).cpu.shardDataset({
          config: plan.config,
          plan: plan.plan,
          split,
          shard,
        });
      const part = await summarized(`embed ${label}`).gpu.embedShard({
        embedId: plan.embedId,
        model: plan.model,
        datasetId,
        split,
        shard,
        batchSize: input.batchSize,
      });
      progress.shards.done++;
      if (!part.computed) progress.shards.reused++;
      else progress.images.computed += part.count;
      progress.images.done += part.count;
      progress.embedSeconds += part.seconds;
      setCurrentDetails(
        detailsText(input.embedRunId, 'embed', [plan.modelDescription, embedLine(progress, Date.now())]),
      );
      return part;
    });

    enter('write', `${input.format} file of ${progress.images.done} rows`);
    const file = await summarized(`write the ${input.format} file`).cpu.writeEmbeddingsFile({
      embedId: plan.embedId,
      model: plan.model,
      modelDescription: plan.modelDescription,
      dataset: plan.dataset,
      datasetId,
      splits: plan.splits.map((split) => ({ split, shards: total(split) })),
      format: input.format,
    });
    const computed = progress.shards.done - progress.shards.reused;
    const result: EmbedResult = {
      ...file,
      embedId: plan.embedId,
      model: plan.model,
      modelDescription: plan.modelDescription,
      datasetId,
      format: input.format,
      shards: { total: jobs.length, computed, reused: progress.shards.reused },
      imagesPerSecond:
        progress.embedSeconds > 0 ? progress.images.computed / progress.embedSeconds : undefined,
    };
    enter(
      'done',
      `${file.rows} rows × ${file.dim} · ${embedLine(progress, Date.now())}\n\nfile: ${file.storeLocation}/${file.keys[0]}`,
    );
    return result;
  } catch (err) {
    progress.error = err instanceof Error ? err.message : String(err);
    if (isCancellation(err))
      await CancellationScope.nonCancellable(async () => enter('cancelled', progress.error));
    else enter('failed', progress.error);
    throw err;
  }
}
