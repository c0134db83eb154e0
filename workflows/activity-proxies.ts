/**
 * The activities as the workflows call them, with their task queue, timeouts and retry policy:
 * data work on `simclr-cpu`, training and evaluation on `simclr-gpu`.
 */
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type * as activities from '../activities';
import type { OrchestrationConfig } from '../config/schema';
import { CPU_QUEUE, GPU_QUEUE, NON_RETRYABLE_ERRORS } from './types';

/** Heartbeat timeouts when the experiment sets none (config `orchestration`). */
export const DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 120;
export const DEFAULT_PRETRAIN_HEARTBEAT_TIMEOUT_SECONDS = 60;

/**
 * The three proxies with the experiment's heartbeat timeouts (config `orchestration`; absent in
 * configs and recorded histories that predate it, so every default here is the value it always had).
 * Timeouts are not part of the commands Temporal compares on replay, so histories replay either way.
 */
export function activityProxies(orchestration?: OrchestrationConfig) {
  const heartbeat = orchestration?.heartbeatTimeoutSeconds ?? DEFAULT_HEARTBEAT_TIMEOUT_SECONDS;
  const pretrainHeartbeat =
    orchestration?.pretrainHeartbeatTimeoutSeconds ?? DEFAULT_PRETRAIN_HEARTBEAT_TIMEOUT_SECONDS;
  return {
    /** Shard, augment, prepare, report: minutes at most; retried a few times. */
    cpu: proxyActivities<typeof activities>({
      taskQueue: CPU_QUEUE,
      startToCloseTimeout: '30 minutes',
      heartbeatTimeout: heartbeat * 1000,
      retry: { maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
    }),

    /** Fine-tuning and evaluation: long, heartbeating. */
    gpu: proxyActivities<typeof activities>({
      taskQueue: GPU_QUEUE,
      startToCloseTimeout: '12 hours',
      heartbeatTimeout: heartbeat * 1000,
      retry: { maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
    }),

    /** One pretraining epoch: resumable from its heartbeat's checkpoint, so retried generously. */
    pretrain: proxyActivities<typeof activities>({
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
export const { cpu, gpu, pretrain } = activityProxies();
