import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { tf, initBackend } from '../../simclr/backend';
import { createPretrainer, DivergedError, pretrainSchedule, type ViewBatch } from '../../simclr/train';
import { learningRateAt } from '../../simclr/schedule';
import { ViewBatchSource } from '../../simclr/view-batches';
import { pretrainerOptions, syntheticViews } from '../helpers/pretrain';

const shape = { height: 12, width: 12, channels: 1 } as const;
const BATCH = 8;

function options(pretrain: Record<string, unknown> = {}) {
  return pretrainerOptions(shape, 5, {
    seed: 1,
    model: { encoder: 'resnet-mini', widthMultiplier: 0.25, head: { outputDim: 16 } },
    pretrain: { batchSize: BATCH, epochs: 4, warmupEpochs: 1, ...pretrain },
  });
}

function* batches(first: number, n: number, closed?: { value: boolean }): Generator<ViewBatch> {
  try {
    for (let s = first; s < first + n; s++) yield syntheticViews(s, BATCH, shape);
  } finally {
    if (closed) closed.value = true;
  }
}

before(async () => {
  await initBackend('tensorflow');
});

describe('Pretrainer', () => {
  it('steps at the scheduled learning rate, counts global steps and leaves no tensors behind', async () => {
    const p = createPretrainer(options());
    try {
      const schedule = pretrainSchedule(p.options.pretrain, 5);
      assert.deepEqual(schedule, {
        peak: p.options.pretrain.effectiveLearningRate,
        warmupSteps: 5,
        totalSteps: 20,
      });
      const b = syntheticViews(0, BATCH, shape);
      const first = await p.step(b.view1, b.view2, b.count);
      const tensors = tf.memory().numTensors; // optimiser slots now exist
      for (let s = 1; s < 7; s++) {
        const v = syntheticViews(s, BATCH, shape);
        const m = await p.step(v.view1, v.view2, v.count);
        assert.equal(m.step, s + 1);
        assert.equal(m.lr, learningRateAt(s, schedule));
        assert.ok(Number.isFinite(m.loss) && m.contrastiveAcc >= 0 && m.contrastiveAcc <= 1);
      }
      assert.equal(first.lr, 0, 'warm-up starts at 0');
      assert.equal(p.globalStep, 7);
      assert.equal(p.epoch, 1);
      assert.equal(tf.memory().numTensors, tensors);
    } finally {
      p.dispose();
    }
  });

  it('runEpoch reads metrics every `metricsEvery` steps and its means match per-step reads', async () => {
    const a = createPretrainer(options());
    const b = createPretrainer(options());
    try {
      const every: number[] = [];
      const sa = await a.runEpoch(batches(0, 4), { onStep: (s) => void every.push(s.loss!) });
      const seen: (number | undefined)[] = [];
      const sb = await b.runEpoch(batches(0, 4), { metricsEvery: 2, onStep: (s) => void seen.push(s.loss) });
      assert.equal(sa.steps, 4);
      assert.equal(sa.images, 4 * BATCH);
      assert.equal(sa.stopped, false);
      assert.equal(sa.globalStep, 4);
      assert.ok(Math.abs(sa.meanLoss - every.reduce((x, y) => x + y, 0) / 4) < 1e-5);
      assert.deepEqual(
        seen.map((l) => l !== undefined),
        [false, true, false, true],
      );
      assert.ok(Math.abs(sb.meanLoss - sa.meanLoss) < 1e-5, 'same seed, same data: same losses');
      const tensors = tf.memory().numTensors;
      for (const metricsEvery of [0, 1, 3]) {
        const s = await b.runEpoch(batches(4, 4), { metricsEvery });
        assert.ok(Number.isFinite(s.meanLoss), `metricsEvery ${metricsEvery}: a mean loss`);
      }
      assert.equal(tf.memory().numTensors, tensors, 'no tensors left behind, metrics read or not');
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('runEpoch stops at a step boundary when shouldStop says so and closes the batch source', async () => {
    const p = createPretrainer(options());
    try {
      const closed = { value: false };
      let done = 0;
      const s = await p.runEpoch(batches(0, 5, closed), {
        onStep: () => void done++,
        shouldStop: () => done >= 2,
      });
      assert.equal(s.stopped, true);
      assert.equal(s.steps, 2);
      assert.equal(p.globalStep, 2);
      assert.equal(closed.value, true);
    } finally {
      p.dispose();
    }
  });

  it('runEpoch over a ViewBatchSource trains on the same batches and says where its time went', async () => {
    const a = createPretrainer(options());
    const b = createPretrainer(options());
    try {
      // Shard s holds the views of batch s, laid out as the precompute writes them (view 1s, view 2s).
      const shards = Array.from({ length: 3 }, (_, s) => {
        const v = syntheticViews(s, BATCH, shape);
        const both = new Uint8Array(2 * v.view1.length);
        both.set(v.view1);
        both.set(v.view2, v.view1.length);
        return both;
      });
      const order = [0, 1, 2].flatMap((shard) =>
        Array.from({ length: BATCH }, (_, index) => ({ shard, index })),
      );
      const FETCH_MS = 30;
      const ON_STEP_MS = 20;
      const source = new ViewBatchSource({
        order,
        batchSize: BATCH,
        imageShape: shape,
        fetchShard: async (s) => {
          await sleep(FETCH_MS);
          return shards[s];
        },
      });
      const viaSource: number[] = [];
      const sa = await a.runEpoch(source, {
        onStep: async (s) => {
          viaSource.push(s.loss!);
          assert.ok(s.stepSeconds > 0 && s.viewsSeconds >= 0);
          await sleep(ON_STEP_MS);
        },
      });
      const direct: number[] = [];
      const sb = await b.runEpoch(batches(0, 3), { onStep: (s) => void direct.push(s.loss!) });
      assert.deepEqual(viaSource, direct, 'the same views, the same losses');
      assert.equal(sa.steps, 3);
      const { viewsSeconds, stepsSeconds, onStepSeconds } = sa.time;
      assert.ok(viewsSeconds >= (FETCH_MS - 2) / 1000, `waited for the first shard: ${viewsSeconds} s`);
      assert.ok(viewsSeconds * 1000 >= source.waitMs - 1, "the source's waits are part of the loop's");
      assert.ok(onStepSeconds >= (3 * (ON_STEP_MS - 2)) / 1000, `onStep awaited: ${onStepSeconds} s`);
      assert.ok(stepsSeconds > 0 && sb.time.stepsSeconds > 0);
      assert.ok(viewsSeconds + stepsSeconds + onStepSeconds <= sa.seconds + 1e-6);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('refuses batches without negatives and reports divergence clearly', async () => {
    const p = createPretrainer(
      options({ optimizer: 'sgd', learningRate: 1e12, learningRateScaling: 'none', warmupEpochs: 0 }),
    );
    try {
      const one = syntheticViews(0, 1, shape);
      await assert.rejects(p.step(one.view1, one.view2, 1), /at least 2 images/);
      await assert.rejects(
        (async () => {
          for (let s = 0; s < 5; s++) {
            const b = syntheticViews(s, BATCH, shape);
            await p.step(b.view1, b.view2, b.count);
          }
        })(),
        (err: Error) => err instanceof DivergedError && /learningRate/.test(err.message),
      );
    } finally {
      p.dispose();
    }
  });
});
