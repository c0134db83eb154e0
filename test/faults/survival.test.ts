/**
 * Runs that survive real faults: each test breaks one real process of a deployment (lab.ts: a Temporal
 * dev server on a SQLite file, MinIO, separate `simclr worker` processes for the cpu and gpu queues)
 * in the middle of an experiment, and asserts that the experiment completes with the final weights of
 * an undisturbed run of the same config and seed (run once, in `before`), plus what the fault must not
 * do: redo more than a checkpoint interval, trust a half-written checkpoint, change a view.
 *
 * The experiment is tiny (240 synthetic 16 px images, resnet-mini, 3 epochs of 15 steps, a checkpoint
 * every 4 steps) and its heartbeat timeouts short (config `orchestration`), so that the suite takes
 * about two minutes; a test acts at a moment it sees (a checkpoint object appearing in MinIO's data
 * folder, a precompute the server holds as started on a frozen worker, a cancel request held by the
 * server), not after a delay, so that it holds on a loaded machine. The figures each test measures are printed as diagnostics; README "What
 * survives what" quotes them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseExperiment } from '../../config/load';
import type { ExperimentConfig } from '../../config/schema';
import { readManifest } from '../../storage/manifest';
import { generateShapesDataset } from '../../simclr/datasets/synthetic';
import { progressQuery } from '../../workflows/experiment';
import type { ExperimentProgress } from '../../contracts';
import { parseJsonOutput, runSimclr } from '../helpers/cli';
import { sleep, startLab, until, type Lab, type WorkerProcess } from './lab';
import {
  checkpointCommitted,
  checkpointFolders,
  checkpointsOf,
  checkpointStarted,
  completedAttempts,
  epochStarts,
  finalWeights,
  lastPretrainHeartbeat,
  pretrainCancelRequested,
  startedPrecomputes,
  stepsTrained,
  latestPointer,
  startRun,
  viewNames,
  waitClosed,
  watchViews,
  whenTrue,
  type FinalWeights,
} from './runs';

/** Steps per epoch (240 images / batch 16), checkpoint interval, epochs. */
const S = 15;
const N = 4;
const EPOCHS = 3;
const LAST_STEP = S * EPOCHS;
/** Checkpoints of epoch 1 (steps 16-30): the faults strike there, mid-epoch. */
const EPOCH1_CHECKPOINT = 20;
const EPOCH1_NEXT_CHECKPOINT = 24;

let lab: Lab;
let cpu: WorkerProcess;
let gpu: WorkerProcess;
let config: ExperimentConfig;
let reference: FinalWeights;
let referenceViews: Map<string, string>;
const suiteStart = Date.now();
/** When each run started (startRun), for its wall time in the diagnostics. */
const startedAt = new Map<string, number>();
let referenceSeconds = 0;

async function begin(id: string): Promise<void> {
  startedAt.set(id, Date.now());
  await startRun(lab, id, config);
}

before(async () => {
  lab = await startLab();
  const images = join(lab.dir, 'shapes');
  await generateShapesDataset(images, { imagesPerClass: 24, testImagesPerClass: 4, size: 16, seed: 1 });
  config = parseExperiment(
    {
      name: 'faults',
      seed: 3,
      backend: 'tensorflow',
      dataset: { source: images, format: 'folder', imageSize: 16, channels: 1, shardSize: 48 },
      augmentation: { lookaheadEpochs: 2 },
      model: { encoder: 'resnet-mini' },
      pretrain: {
        epochs: EPOCHS,
        batchSize: 16,
        warmupEpochs: 1,
        checkpointEverySteps: N,
        knnEveryEpochs: 0,
      },
      fineTune: { labelFractions: [0.5], epochs: 1, batchSize: 32 },
      evaluation: {
        linear: { epochs: 1 },
        randomInitBaseline: false,
        baselines: { pixels: false, supervised: false, scratchFineTune: false },
      },
      // Short enough that a killed worker's activity moves on within seconds, long enough for a
      // first attempt that loads TensorFlow on a loaded machine.
      orchestration: { pretrainHeartbeatTimeoutSeconds: 15, heartbeatTimeoutSeconds: 20 },
    },
    'fault suite',
  );
  [cpu, gpu] = await Promise.all([lab.startWorker('cpu'), lab.startWorker('gpu')]);

  const views = watchViews(lab.store);
  await begin('reference');
  const status = await waitClosed(lab, 'reference');
  referenceSeconds = (Date.now() - startedAt.get('reference')!) / 1000;
  await views.stop();
  assert.equal(status, 'COMPLETED', workerLogs());
  reference = await finalWeights(lab.store, 'reference');
  referenceViews = viewNames(views.digests);
  assert.equal(reference.checkpoint, `step-${String(LAST_STEP).padStart(8, '0')}`);
  assert.equal(referenceViews.size, EPOCHS * 5, 'the watcher saw every (epoch, shard) of views');
});

after(async () => {
  await lab?.stop();
  console.log(
    `# undisturbed reference run (sharding and first TensorFlow load included): ${referenceSeconds.toFixed(0)} s`,
  );
  console.log(`# fault suite wall time: ${((Date.now() - suiteStart) / 1000).toFixed(0)} s`);
});

function workerLogs(): string {
  return `cpu worker:\n${cpu?.log().slice(-3000)}\ngpu worker:\n${gpu?.log().slice(-3000)}`;
}

/** Waits for the run, checks it against the reference; returns its wall time in seconds. */
async function assertCompletedLikeReference(id: string): Promise<number> {
  const status = await waitClosed(lab, id);
  const seconds = (Date.now() - startedAt.get(id)!) / 1000;
  assert.equal(status, 'COMPLETED', workerLogs());
  assert.deepEqual(await finalWeights(lab.store, id), reference, 'final weights equal the undisturbed run');
  const { uncommitted } = await checkpointFolders(lab.store, id);
  assert.deepEqual(uncommitted, [], 'no checkpoint folder is left without its manifest');
  return seconds;
}

/** The newest committed checkpoint step in the store. */
async function newestCommitted(id: string): Promise<number> {
  const { committed } = await checkpointFolders(lab.store, id);
  return committed[committed.length - 1];
}

test('SIGKILL of the gpu worker mid-epoch: a new worker resumes the epoch from the newest checkpoint', async (t) => {
  const id = 'gpu-kill';
  await begin(id);
  // Kill as the checkpoint of step 24 is being written: the worst moment, a full interval after the
  // last committed one (20), with a half-written folder that the retry must not trust.
  const killedAt = EPOCH1_NEXT_CHECKPOINT;
  await whenTrue(`${id} writing checkpoint ${killedAt}`, () => checkpointStarted(lab, id, killedAt));
  await gpu.kill('SIGKILL');
  const committedAtKill = await newestCommitted(id);
  const beat = await lastPretrainHeartbeat(lab, id);
  gpu = await lab.startWorker('gpu');
  const seconds = await assertCompletedLikeReference(id);

  const resumedAt = (await epochStarts(lab.store, id)).get(1);
  assert.equal(resumedAt, committedAtKill, 'epoch 1 resumed from the newest committed checkpoint');
  assert.ok(resumedAt! % S !== 0, `resumed mid-epoch (step ${resumedAt})`);
  const redone = killedAt - resumedAt!;
  assert.ok(redone <= N, `redone ${redone} steps, at most one interval (${N})`);
  const attempts = (await completedAttempts(lab.client, `${id}/pretrain`)).filter(
    (a) => a.type === 'pretrainEpoch',
  );
  assert.ok(
    attempts.some((a) => a.attempt > 1),
    `an epoch was retried: ${JSON.stringify(attempts)}`,
  );
  t.diagnostic(
    `run ${seconds.toFixed(0)} s; ` +
      `gpu SIGKILL at step ${killedAt} (checkpoint ${committedAtKill} committed, last heartbeat at the server: ` +
      `step ${beat?.step} naming ${beat?.checkpoint}): resumed at ${resumedAt}, ${redone} steps redone (interval ${N})`,
  );
});

test('SIGTERM of the gpu worker mid-epoch (a Kubernetes drain): it checkpoints where it stops and nothing is redone', async (t) => {
  const id = 'gpu-drain';
  await begin(id);
  await whenTrue(`${id} checkpoint ${EPOCH1_CHECKPOINT}`, () =>
    checkpointCommitted(lab, id, EPOCH1_CHECKPOINT),
  );
  // What the kubelet does to a pod that is scaled in or evicted: SIGTERM, then SIGKILL after
  // terminationGracePeriodSeconds (infra/k8s/gpu-worker.yaml); this drain must fit in it.
  const t0 = Date.now();
  const exit = await gpu.kill('SIGTERM');
  const drainSeconds = (Date.now() - t0) / 1000;
  assert.equal(exit, 'exited with 0', gpu.log().slice(-3000));
  assert.match(gpu.log(), /SIGTERM: draining/);
  const drainedAt = await newestCommitted(id);
  assert.ok(
    drainedAt >= EPOCH1_CHECKPOINT && drainedAt <= 2 * S,
    `the newest checkpoint after the drain is in epoch 1: step ${drainedAt}`,
  );
  gpu = await lab.startWorker('gpu');
  const seconds = await assertCompletedLikeReference(id);

  // The drained attempt stopped at a step boundary and wrote its checkpoint there (activities/pretrain.ts),
  // before the process exited; the retry on the new worker resumed from it.
  const trained = await stepsTrained(lab.store, id, 1);
  assert.equal(
    trained.get(S),
    drainedAt,
    `the drained attempt's last step is the checkpoint: ${JSON.stringify([...trained])}`,
  );
  const resumedAt = (await epochStarts(lab.store, id)).get(1);
  assert.equal(resumedAt, drainedAt, 'epoch 1 resumed from the drain checkpoint: no step redone');
  const attempts = (await completedAttempts(lab.client, `${id}/pretrain`)).filter(
    (a) => a.type === 'pretrainEpoch',
  );
  assert.ok(
    attempts.some((a) => a.attempt > 1),
    `the drained epoch was retried: ${JSON.stringify(attempts)}`,
  );
  t.diagnostic(
    `run ${seconds.toFixed(0)} s; gpu SIGTERM once checkpoint ${EPOCH1_CHECKPOINT} was committed: drained in ` +
      `${drainSeconds.toFixed(1)} s, stopped at step ${drainedAt} with a checkpoint there; resumed there (0 steps redone)`,
  );
});

test('SIGKILL of the cpu worker during augmentation precompute: views recomputed identically', async (t) => {
  const id = 'cpu-kill';
  assert.deepEqual(await lab.store.list('augment/'), [], 'no views left by earlier runs');
  const views = watchViews(lab.store);
  await begin(id);
  // The moment: the server holds a precompute as started. A precompute of this run is a fraction of a
  // second, shorter than the look from a view object appearing to a kill, so the worker is frozen
  // there (SIGSTOP) and the server asked again 2 s later, once a completion already on the wire has
  // landed: a precompute it still holds as started is one the frozen worker runs, and the kill hits it.
  // If none is left, the worker goes on (SIGCONT) to the next one.
  const runningAtKill = await until(
    `${id}: a precompute running on the cpu worker`,
    async () => {
      if ((await startedPrecomputes(lab, id)) === 0) return undefined;
      process.kill(cpu.pid, 'SIGSTOP');
      await sleep(2000);
      const running = await startedPrecomputes(lab, id);
      if (running > 0) return running;
      process.kill(cpu.pid, 'SIGCONT');
      return undefined;
    },
    { everyMs: 5 },
  );
  const seenAtKill = views.digests.size;
  await cpu.kill('SIGKILL');
  cpu = await lab.startWorker('cpu');
  const seconds = await assertCompletedLikeReference(id);
  await views.stop();

  const got = viewNames(views.digests);
  assert.deepEqual(got, referenceViews, 'every view has the digest of the undisturbed run');
  const attempts = (await completedAttempts(lab.client, `${id}/pretrain`)).filter(
    (a) => a.type === 'precomputeAugmentationRange',
  );
  assert.ok(
    attempts.filter((a) => a.attempt > 1).length >= runningAtKill,
    `the ${runningAtKill} precomputes running on the killed worker were retried: ${JSON.stringify(attempts)}`,
  );
  t.diagnostic(
    `run ${seconds.toFixed(0)} s; ` +
      `cpu SIGKILL with ${runningAtKill} precomputes running, after ${seenAtKill} of ${EPOCHS * 5} view objects: precompute attempts ` +
      `${JSON.stringify(attempts.map((a) => a.attempt))}; ${got.size} views, digests equal the reference`,
  );
});

test('restart of the Temporal dev server (same database) mid-run: the run completes', async (t) => {
  const id = 'temporal-restart';
  await begin(id);
  await whenTrue(`${id} checkpoint ${EPOCH1_CHECKPOINT}`, () =>
    checkpointCommitted(lab, id, EPOCH1_CHECKPOINT),
  );
  const t0 = Date.now();
  await lab.restartTemporal();
  const downSeconds = (Date.now() - t0) / 1000;
  const seconds = await assertCompletedLikeReference(id);
  const starts = await epochStarts(lab.store, id);
  const attempts = (await completedAttempts(lab.client, `${id}/pretrain`)).filter(
    (a) => a.type === 'pretrainEpoch',
  );
  t.diagnostic(
    `run ${seconds.toFixed(0)} s; ` +
      `dev server down ${downSeconds.toFixed(1)} s after checkpoint ${EPOCH1_CHECKPOINT}: epochs started at ` +
      `${JSON.stringify([...starts])}, pretrainEpoch attempts ${JSON.stringify(attempts.map((a) => a.attempt))}`,
  );
});

test('MinIO killed during a checkpoint upload: retried; LATEST never names an incomplete checkpoint', async (t) => {
  const id = 'minio-kill';
  // LATEST is read continuously: whenever it exists, the checkpoint it names must be committed.
  const violations: string[] = [];
  let reads = 0;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      try {
        const latest = await latestPointer(lab.store, id);
        if (latest !== undefined) {
          reads++;
          if ((await readManifest(lab.store, latest)) === undefined) violations.push(latest);
        }
      } catch {
        // MinIO is down
      }
      await sleep(50);
    }
  })();
  try {
    await begin(id);
    const step = EPOCH1_NEXT_CHECKPOINT;
    await whenTrue(`${id} writing checkpoint ${step}`, () => checkpointStarted(lab, id, step));
    await lab.killMinio();
    const manifestAtKill = checkpointCommitted(lab, id, step);
    await sleep(3_000);
    await lab.startMinio();
    const latestAfter = await latestPointer(lab.store, id);
    assert.ok(
      latestAfter && (await readManifest(lab.store, latestAfter)),
      `LATEST ${latestAfter} is committed`,
    );
    const seconds = await assertCompletedLikeReference(id);
    watching = false;
    await watcher;
    assert.deepEqual(violations, [], 'LATEST named an uncommitted checkpoint');
    assert.ok(reads > 0);

    // Every committed checkpoint is whole: its six objects, weights of the size their specs say.
    const { committed, files } = await checkpointFolders(lab.store, id);
    for (const s of committed) {
      assert.deepEqual(
        files.get(s)!.sort(),
        [
          'MANIFEST.json',
          'encoder/model.json',
          'encoder/weights.bin',
          'head/model.json',
          'head/weights.bin',
          'optimizer.bin',
        ],
        `checkpoint ${s}`,
      );
    }
    const attempts = (await completedAttempts(lab.client, `${id}/pretrain`)).filter(
      (a) => a.type === 'pretrainEpoch',
    );
    assert.ok(
      attempts.some((a) => a.attempt > 1),
      `an epoch was retried: ${JSON.stringify(attempts)}`,
    );
    const resumedAt = (await epochStarts(lab.store, id)).get(1);
    t.diagnostic(
      `run ${seconds.toFixed(0)} s; ` +
        `MinIO SIGKILL while checkpoint ${step} was written (manifest ${manifestAtKill ? 'already' : 'not yet'} ` +
        `on disk), down 3 s: pretrainEpoch attempts ${JSON.stringify(attempts.map((a) => a.attempt))}, ` +
        `epoch 1 resumed at ${resumedAt} (${step - resumedAt!} steps redone); LATEST read ${reads} times, always committed`,
    );
  } finally {
    watching = false;
    await watcher;
  }
});

test('cancel, then resume (CLI): continues from the cancel checkpoint', async (t) => {
  const id = 'cancel-resume';
  const cli = { home: join(lab.dir, 'cli-home'), address: lab.address, env: lab.env, timeoutMs: 120_000 };
  await begin(id);
  // An epoch of this tiny run is shorter than the CLI's start and than the 2 s within which a worker
  // hears of a cancel (on a heartbeat response), so the gpu worker is paused (SIGSTOP) at checkpoint 20
  // until the server holds the cancel request: resumed, it hears of it on its next heartbeat, mid-epoch.
  await whenTrue(`${id} checkpoint ${EPOCH1_CHECKPOINT}`, () =>
    checkpointCommitted(lab, id, EPOCH1_CHECKPOINT),
  );
  process.kill(gpu.pid, 'SIGSTOP');
  try {
    const cancelled = await runSimclr(['cancel', id, '--json'], cli);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    await until(`${id}: the cancel request reaches pretrainEpoch`, async () =>
      (await pretrainCancelRequested(lab, id)) ? true : undefined,
    );
  } finally {
    process.kill(gpu.pid, 'SIGCONT');
  }
  assert.equal(await waitClosed(lab, id), 'CANCELLED');
  const cancelStep = await newestCommitted(id);
  assert.ok(cancelStep < LAST_STEP, `cancelled before the end (checkpoint ${cancelStep})`);
  assert.equal(
    await latestPointer(lab.store, id),
    `${checkpointsOf(id)}/step-${String(cancelStep).padStart(8, '0')}`,
  );

  const resumed = await runSimclr(['resume', id, '--detach', '--json'], cli);
  assert.equal(resumed.code, 0, resumed.stderr);
  parseJsonOutput(resumed);
  const seconds = await assertCompletedLikeReference(id);
  const progress: ExperimentProgress = await lab.client.workflow.getHandle(id).query(progressQuery);
  assert.equal(progress.resumedFrom, `${checkpointsOf(id)}/step-${String(cancelStep).padStart(8, '0')}`);
  const starts = await epochStarts(lab.store, id);
  t.diagnostic(
    `run ${seconds.toFixed(0)} s; ` +
      `paused at checkpoint ${EPOCH1_CHECKPOINT}, cancel checkpoint at step ${cancelStep} ` +
      `(${cancelStep % S === 0 ? 'an epoch end' : 'mid-epoch'}); ` +
      `resumed from it: epochs started at ${JSON.stringify([...starts])}`,
  );
});
