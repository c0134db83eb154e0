/**
 * Task queues by resource class (DESIGN.md, orchestration rules): data work (shard, augment, report,
 * the sweep's bookkeeping) on `simclr-cpu`, which also serves the workflows; training, fine-tuning and
 * evaluation on `simclr-gpu`, one activity per GPU at a time. Embedded mode serves both in one process.
 */
export const CPU_QUEUE = 'simclr-cpu';
export const GPU_QUEUE = 'simclr-gpu';

export type QueueName = typeof CPU_QUEUE | typeof GPU_QUEUE;
