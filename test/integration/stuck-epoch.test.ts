/**
 * The pretrain loop on a real Temporal dev server never wedges on an epoch's result:
 * - an attempt of the real pretrainEpoch dies after its end-of-epoch checkpoint heartbeat (where the
 *   kNN monitor and the metrics writes run); the retry resumes at the epoch's last step, runs no step
 *   and must still report the epoch, so the run completes;
 * - a pretrainEpoch reply with NaN (null in JSON) where a loss belongs, as a worker of an older release
 *   sends it, fails the run with a failure that names the field, instead of a workflow task that
 *   fails on every replay and leaves the run RUNNING forever.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { ExperimentConfig } from '../../config/schema';
import { cpuActivities, gpuActivities } from '../../activities';
import { augmentationId } from '../../activities/augment';
import { pretrainEpoch, stepsPerEpoch, type PretrainEpochInput } from '../../activities/pretrain';
import { MALFORMED_RESULT } from '../../workflows/activity-results';
import { pretrainLoop } from '../../workflows/pretrain-loop';
import {
  CPU_QUEUE,
  GPU_QUEUE,
  type DatasetManifest,
  type PretrainEpochResult,
  type PretrainHeartbeat,
  type PretrainLoopInput,
} from '../../contracts';
import { startTestTemporal } from '../helpers/temporal';
import { shapesPretrainFixture } from '../helpers/activity-fixture';

let temporal: TestWorkflowEnvironment;
let work: string;
let config: ExperimentConfig;
let dataset: DatasetManifest;
let bundle: WorkflowBundleWithSourceMap;
let cpuWorker: Worker;
let cpuRun: Promise<void>;
const savedEnv = { ...process.env };

before(async () => {
  // The runs fail on purpose (an attempt, a workflow): their warnings would drown the test output.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  temporal = await startTestTemporal();
  ({ work, config, dataset } = await shapesPretrainFixture('simclr-stuck-', {
    name: 'stuck-epoch',
    seed: 1,
    pretrain: { epochs: 2, batchSize: 32, warmupEpochs: 1, checkpointEverySteps: 2, knnEveryEpochs: 1 },
  }));
  bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows') });
  cpuWorker = await Worker.create({
    connection: temporal.nativeConnection,
    taskQueue: CPU_QUEUE,
    workflowBundle: bundle,
    activities: cpuActivities,
  });
  cpuRun = cpuWorker.run();
});

after(async () => {
  cpuWorker?.shutdown();
  await cpuRun?.catch(() => undefined);
  await temporal?.teardown();
  rmSync(work, { recursive: true, force: true });
  process.env = savedEnv;
});

/** Runs `body` while a gpu worker serves `activities` (heartbeats sent at once, not throttled). */
async function withGpuWorker<T>(activities: object, body: () => Promise<T>): Promise<T> {
  const worker = await Worker.create({
    connection: temporal.nativeConnection,
    taskQueue: GPU_QUEUE,
    activities,
    maxHeartbeatThrottleInterval: '50ms',
    defaultHeartbeatThrottleInterval: '50ms',
  });
  const running = worker.run();
  try {
    return await body();
  } finally {
    worker.shutdown();
    await running;
  }
}

function loopInput(experimentId: string): PretrainLoopInput {
  return {
    experimentId,
    config,
    dataset,
    augmentationId: augmentationId(config, dataset),
    stepsPerEpoch: stepsPerEpoch(config, dataset),
    startEpoch: 0,
    history: [],
    augmentationWaitMs: 0,
  };
}

/**
 * Waits for the run to close, failing as soon as one of its workflow tasks fails: a failed workflow
 * task is retried forever and is what leaves a run RUNNING for good.
 */
async function closedWithoutWedging<T>(handle: WorkflowHandle, result: Promise<T>): Promise<T> {
  let closed = false;
  const watch = (async () => {
    for (let i = 0; i < 1200 && !closed; i++) {
      const history = await handle.fetchHistory();
      const failed = history.events?.find((e) => e.workflowTaskFailedEventAttributes);
      if (failed)
        assert.fail(
          `a workflow task failed (the run is wedged): ${failed.workflowTaskFailedEventAttributes?.failure?.message}`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  try {
    return await Promise.race([result, watch.then(() => assert.fail('the run did not close')) as never]);
  } finally {
    closed = true;
    await watch.catch(() => undefined);
  }
}

test('an attempt that dies after its end-of-epoch checkpoint: the retry reports the epoch and the run completes', async () => {
  const retriesSaw: (PretrainHeartbeat | undefined)[] = [];
  const dyingOnce = {
    ...gpuActivities,
    async pretrainEpoch(input: PretrainEpochInput): Promise<PretrainEpochResult> {
      const { attempt, heartbeatDetails } = Context.current().info;
      if (input.epoch === 0 && attempt === 1) {
        await pretrainEpoch(input); // every step, the end-of-epoch checkpoint and its heartbeat
        await new Promise((r) => setTimeout(r, 1000)); // the last heartbeat reaches the server
        throw new Error('the worker died in the end-of-epoch work');
      }
      if (attempt > 1) retriesSaw.push(heartbeatDetails as PretrainHeartbeat | undefined);
      return pretrainEpoch(input);
    },
  };
  const progress = await withGpuWorker(dyingOnce, async () => {
    const handle = await temporal.client.workflow.start(pretrainLoop, {
      workflowId: 'stuck-epoch/pretrain',
      taskQueue: CPU_QUEUE,
      args: [loopInput('stuck-epoch')],
    });
    return closedWithoutWedging(handle, handle.result());
  });
  // The case was reproduced: the retry started from the checkpoint at the epoch's last step.
  assert.equal(retriesSaw.length, 1);
  assert.equal(retriesSaw[0]?.step, 6);
  assert.match(retriesSaw[0]?.checkpoint ?? '', /step-00000006$/);
  assert.equal(progress.epoch, 2);
  assert.deepEqual(
    progress.history.map((h) => [h.epoch, h.globalStep]),
    [
      [0, 6],
      [1, 12],
    ],
  );
  for (const h of progress.history) {
    assert.ok(Number.isFinite(h.meanLoss) && h.meanLoss > 0, `epoch ${h.epoch} loss ${h.meanLoss}`);
    assert.ok(Number.isFinite(h.meanContrastiveAcc), `epoch ${h.epoch} accuracy ${h.meanContrastiveAcc}`);
    assert.ok(h.knnTop1 !== undefined && h.knnTop1 >= 0 && h.knnTop1 <= 1, 'the kNN monitor ran');
  }
});

test('a malformed pretrainEpoch result fails the run with the field named, instead of wedging it', async () => {
  const olderRelease = {
    ...gpuActivities,
    // What the earlier release returned from a retry at an epoch's end: NaN, which JSON turns into null.
    async pretrainEpoch(input: PretrainEpochInput): Promise<PretrainEpochResult> {
      return {
        epoch: input.epoch,
        globalStep: (input.epoch + 1) * input.stepsPerEpoch,
        meanLoss: Number.NaN,
        meanContrastiveAcc: Number.NaN,
        checkpoint: `experiments/${input.experimentId}/checkpoints/step-00000006`,
        seconds: 0.1,
        imagesPerSec: 0,
        backend: 'tensorflow',
      };
    },
  };
  const err = await withGpuWorker(olderRelease, async () => {
    const handle = await temporal.client.workflow.start(pretrainLoop, {
      workflowId: 'malformed/pretrain',
      taskQueue: CPU_QUEUE,
      args: [loopInput('malformed')],
    });
    return closedWithoutWedging(
      handle,
      handle.result().then(
        () => assert.fail('the run completed on a malformed result'),
        (e: unknown) => e,
      ),
    );
  });
  assert.ok(err instanceof WorkflowFailedError, String(err));
  const cause = err.cause as { type?: string; message: string; nonRetryable?: boolean } | undefined;
  assert.equal(cause?.type, MALFORMED_RESULT);
  assert.match(
    cause?.message ?? '',
    /pretrainEpoch of epoch 0 returned a malformed result: meanLoss is null/,
  );
});
