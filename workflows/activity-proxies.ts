/**
 * The activities as the workflows call them, with their task queue, timeouts and retry policy:
 * data work on `simclr-cpu`, training and evaluation on `simclr-gpu`. Each proxy is typed by its
 * queue's contract (contracts/activities.ts), so calling an activity through the wrong queue does not
 * compile (test/unit/activity-proxies-types.test.ts). The retry policies list the non-retryable error
 * types derived from the error classes (contracts/errors.ts).
 */
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { CpuActivities, GpuActivities } from '../contracts/activities';
import { NON_RETRYABLE_ERRORS } from '../contracts/errors';
import { CPU_QUEUE, GPU_QUEUE } from '../contracts/queues';

/** Shard, augment, prepare, report: minutes at most; retried a few times. */
export const cpu = proxyActivities<CpuActivities>({
  taskQueue: CPU_QUEUE,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
});

/** Fine-tuning and evaluation: long, heartbeating. */
export const gpu = proxyActivities<Omit<GpuActivities, 'pretrainEpoch'>>({
  taskQueue: GPU_QUEUE,
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
});

/**
 * `gpu` that, on cancel, waits for the activity to stop (at a step or batch boundary) before the run
 * closes, so a cancelled run no longer holds the GPU slot. Used by runs with the GPU_STOP_ON_CANCEL_PATCH.
 */
export const gpuStoppable = proxyActivities<Omit<GpuActivities, 'pretrainEpoch'>>({
  taskQueue: GPU_QUEUE,
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/** One pretraining epoch: resumable from its heartbeat's checkpoint, so retried generously. */
export const pretrain = proxyActivities<Pick<GpuActivities, 'pretrainEpoch'>>({
  taskQueue: GPU_QUEUE,
  startToCloseTimeout: '24 hours',
  // Short: a lost GPU worker is noticed within a minute and the epoch resumes elsewhere from its checkpoint.
  heartbeatTimeout: '60 seconds',
  retry: { maximumAttempts: 20, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
  // On cancel, wait for the epoch to stop at a step boundary and write its final checkpoint.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});
