/**
 * The figures a finished pretraining epoch reports (mean loss, mean contrastive accuracy, throughput),
 * kept in its end-of-epoch checkpoint's manifest. Why: an attempt can die after that checkpoint (in the
 * kNN monitor, writing metrics); its retry resumes at the epoch's last step and runs no step, so it
 * has no losses of its own and must report the ones the finished steps produced, never NaN.
 */
import { ApplicationFailure } from '@temporalio/common';
import { readCheckpointManifest } from '../simclr/checkpoint';
import type { BlobStore } from '../storage/blob-store';

export interface EpochStats {
  meanLoss: number;
  meanContrastiveAcc: number;
  imagesPerSec: number;
}

/** The manifest `metrics` entries of an end-of-epoch checkpoint. */
export function epochStatsMetrics(stats: EpochStats): Record<string, number> {
  return {
    epochMeanLoss: stats.meanLoss,
    epochMeanContrastiveAcc: stats.meanContrastiveAcc,
    epochImagesPerSec: stats.imagesPerSec,
  };
}

/**
 * The epoch figures kept in the end-of-epoch checkpoint `key`. A checkpoint written before they were
 * kept has none: then `heartbeatLoss` (the last attempt's final heartbeat, which carried the epoch's
 * mean loss) stands in for the loss, the accuracy is unknown (0) and the throughput 0. Without either,
 * a non-retryable failure: no retry can bring the figures back; `simclr resume` continues after the epoch.
 */
export async function recoverEpochStats(
  store: BlobStore,
  key: string,
  heartbeatLoss: number | undefined,
): Promise<EpochStats> {
  const m = (await readCheckpointManifest(store, key)).metrics ?? {};
  const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  if (finite(m.epochMeanLoss) && finite(m.epochMeanContrastiveAcc)) {
    return {
      meanLoss: m.epochMeanLoss,
      meanContrastiveAcc: m.epochMeanContrastiveAcc,
      imagesPerSec: finite(m.epochImagesPerSec) ? m.epochImagesPerSec : 0,
    };
  }
  if (finite(heartbeatLoss)) return { meanLoss: heartbeatLoss, meanContrastiveAcc: 0, imagesPerSec: 0 };
  throw ApplicationFailure.nonRetryable(
    `checkpoint ${key} ends its epoch but keeps no epoch figures, and the previous attempt's heartbeat has no loss`,
    'PipelineError',
  );
}
