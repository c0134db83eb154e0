/**
 * Workers by resource class: `cpu` serves the workflows and the data activities (shard, augment,
 * report) on `simclr-cpu`; `gpu` serves training and evaluation on `simclr-gpu`, one activity at a time
 * (one training activity per GPU). Embedded mode runs both in one process.
 */
import { NativeConnection, Worker, type State } from '@temporalio/worker';
import type { TemporalTarget } from '../infra/temporal-connection';
import { cpuActivities } from '../activities/cpu';
import { gpuActivities } from '../activities/gpu';
import { activityInterceptors } from '../activities/interceptors';
import { describeThreads, resolveThreads } from '../simclr/kernels/threads';
import { tuneHeapForTraining } from './heap';
import { CPU_QUEUE, GPU_QUEUE } from '../contracts/queues';
import { workflowBundleFor } from './workflow-bundle';

export type QueueClass = 'cpu' | 'gpu';

export interface WorkersHandle {
  /** Graceful: stop polling, let running activities finish or checkpoint, then resolve. */
  shutdown(): Promise<void>;
  /** Resolves when every worker has stopped; rejects if one fails. */
  done: Promise<void>;
  /** Each worker's task queue and SDK state (RUNNING, DRAINING, ...), for the health endpoint. */
  states(): WorkerState[];
}

export interface WorkerState {
  taskQueue: string;
  state: State;
}

export interface StartWorkersOptions {
  queues: QueueClass[];
  target: TemporalTarget;
  log?: (line: string) => void;
  /** Concurrent data activities on the CPU queue (default: the number of cores). */
  cpuConcurrency?: number;
  /** Concurrent training activities on the GPU queue (default 1: one per GPU). */
  gpuConcurrency?: number;
}

export async function startWorkers(opts: StartWorkersOptions): Promise<WorkersHandle> {
  const log = opts.log ?? (() => undefined);
  const cores = require('node:os').availableParallelism?.() ?? 2;
  // TensorFlow loads with the first training activity and takes its thread pools from the environment
  // then (simclr/kernels/threads.ts); a bad SIMCLR_THREADS is refused here, before any task is taken.
  if (opts.queues.includes('gpu')) {
    log(`worker: TensorFlow ${describeThreads(resolveThreads(process.env, cores))}`);
    // Without it, a training process makes a full GC about every step (./heap.ts).
    const heapFlag = tuneHeapForTraining();
    if (heapFlag) log(`worker: V8 ${heapFlag} (old-generation headroom for training)`);
  }
  const c = opts.target.connection;
  const connection = await NativeConnection.connect({
    address: c.address,
    tls: c.tls,
    apiKey: typeof c.apiKey === 'string' ? c.apiKey : undefined,
  });
  const workers: Worker[] = [];
  if (opts.queues.includes('cpu')) {
    const bundle = await workflowBundleFor();
    workers.push(
      await Worker.create({
        connection,
        namespace: opts.target.namespace,
        taskQueue: CPU_QUEUE,
        workflowBundle: bundle.option,
        activities: cpuActivities,
        interceptors: { activity: activityInterceptors },
        maxConcurrentActivityTaskExecutions: opts.cpuConcurrency ?? cores,
      }),
    );
    log(`worker: serving workflows (${bundle.source}) and data activities on '${CPU_QUEUE}'`);
  }
  if (opts.queues.includes('gpu')) {
    workers.push(
      await Worker.create({
        connection,
        namespace: opts.target.namespace,
        taskQueue: GPU_QUEUE,
        activities: gpuActivities,
        interceptors: { activity: activityInterceptors },
        maxConcurrentActivityTaskExecutions: opts.gpuConcurrency ?? 1,
        // Heartbeat details carry the live step and loss that `simclr watch` and the web UI show;
        // the default throttle (up to 30-60 s) would make them stale.
        maxHeartbeatThrottleInterval: '2s',
        defaultHeartbeatThrottleInterval: '2s',
      }),
    );
    log(`worker: serving training and evaluation on '${GPU_QUEUE}' (1 at a time)`);
  }
  const done = Promise.all(workers.map((w) => w.run())).then(async () => {
    await connection.close();
  });
  return {
    async shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await done.catch(() => undefined);
    },
    done,
    states: () => workers.map((w) => ({ taskQueue: w.options.taskQueue, state: w.getState() })),
  };
}
