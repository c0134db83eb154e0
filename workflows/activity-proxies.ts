/**
 * The activities as the workflows call them, with their task queue, timeouts and retry policy:
 * data work on `simclr-cpu`, training and evaluation on `simclr-gpu`. Each proxy is typed by its
 * queue's contract (contracts/activities.ts), so calling an activity through the wrong queue does not
 * compile (test/unit/activity-proxies-types.test.ts). The retry policies list the non-retryable error
 * types derived from the error classes (contracts/errors.ts).
 */
import { ActivityCancellationType, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { CpuActivities, GpuActivities } from '../contracts/activities';
import { NON_RETRYABLE_ERRORS } from '../contracts/errors';
import { CPU_QUEUE, GPU_QUEUE } from '../contracts/queues';
import type { OrchestrationConfig } from '../config/schema';

/** Heartbeat timeouts when the experiment sets none (config `orchestration`). */
export const DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 120;
export const DEFAULT_PRETRAIN_HEARTBEAT_TIMEOUT_SECONDS = 60;

/**
 * The proxies with the experiment's heartbeat timeouts (config `orchestration`; absent in configs and
 * recorded histories that predate it, so every default here is the value it always had). Timeouts are
 * not part of the commands Temporal compares on replay, so histories replay either way.
 */
export function activityProxies(orchestration?: OrchestrationConfig) {
  return {
    ...proxiesWith(orchestration),
    summarized: (summary: string) => proxiesWith(orchestration, summary),
  };
}

/**
 * The proxies; with `summary`, each activity they schedule carries it (the `summary` option: the web
 * UI's event history then reads "pretrain epoch 7/15" instead of a bare activity type). The summary is
 * user metadata, not part of the commands compared on replay.
 */
function proxiesWith(orchestration?: OrchestrationConfig, summary?: string) {
  const label = summary === undefined ? {} : { summary };
  const heartbeat = orchestration?.heartbeatTimeoutSeconds ?? DEFAULT_HEARTBEAT_TIMEOUT_SECONDS;
  const pretrainHeartbeat =
    orchestration?.pretrainHeartbeatTimeoutSeconds ?? DEFAULT_PRETRAIN_HEARTBEAT_TIMEOUT_SECONDS;
  const gpuOptions: ActivityOptions = {
    ...label,
    taskQueue: GPU_QUEUE,
    startToCloseTimeout: '12 hours',
    heartbeatTimeout: heartbeat * 1000,
    retry: { maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
  };
  return {
    /** Shard, augment, prepare, report: minutes at most; retried a few times. */
    cpu: proxyActivities<CpuActivities>({
      ...label,
      taskQueue: CPU_QUEUE,
      startToCloseTimeout: '30 minutes',
      heartbeatTimeout: heartbeat * 1000,
      retry: { maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
    }),

    /** Fine-tuning and evaluation: long, heartbeating. */
    gpu: proxyActivities<Omit<GpuActivities, 'pretrainEpoch'>>(gpuOptions),

    /**
     * `gpu` that, on cancel, waits for the activity to stop (at a step or batch boundary) before the run
     * closes, so a cancelled run no longer holds the GPU slot. Used by runs with the GPU_STOP_ON_CANCEL_PATCH.
     */
    gpuStoppable: proxyActivities<Omit<GpuActivities, 'pretrainEpoch'>>({
      ...gpuOptions,
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    }),

    /** One pretraining epoch: resumable from its heartbeat's checkpoint, so retried generously. */
    pretrain: proxyActivities<Pick<GpuActivities, 'pretrainEpoch'>>({
      ...label,
      taskQueue: GPU_QUEUE,
      startToCloseTimeout: '24 hours',
      // Short: a lost GPU worker is noticed within a minute and the epoch resumes elsewhere from its checkpoint.
      heartbeatTimeout: pretrainHeartbeat * 1000,
      retry: { maximumAttempts: 20, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
      // On cancel, wait for the epoch to stop at a step boundary and write its final checkpoint.
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    }),
  };
}

/** The proxies with the default timeouts (the sweep workflow, which has no experiment config). */
export const { cpu, gpu, gpuStoppable, pretrain } = activityProxies();
