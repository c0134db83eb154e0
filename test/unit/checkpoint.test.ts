import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, initBackend } from '../../simclr/backend';
import { createPretrainer, type Pretrainer, type PretrainerOptions } from '../../simclr/train';
import {
  blobStoreIOHandler,
  CheckpointMismatchError,
  CheckpointNotFoundError,
  checkpointKey,
  listCheckpointSteps,
  loadLatestCheckpoint,
  pruneCheckpoints,
  readCheckpointManifest,
  restorePretrainer,
  saveCheckpoint,
  warmStartPretrainer,
} from '../../simclr/checkpoint';
import { Rng } from '../../simclr/rng';
import { FsBlobStore } from '../../storage/fs-store';
import { manifestKey } from '../../storage/manifest';
import { pretrainerOptions, syntheticViews } from '../helpers/pretrain';

const shape = { height: 12, width: 12, channels: 1 } as const;
const BATCH = 8;
/**
 * The issue asks for "2k steps straight vs 1k + save + load + 1k". k = 100 on a tiny model (resnet-mini
 * at width 0.25, 12×12 images, batch 8; ~25 ms a step here) keeps this file near 10 s on the shared
 * 2-core machine, well under its 60 s budget, while the three run states a resume must carry all
 * matter: the momentum slots, the moving batch-norm statistics and the step counter behind the
 * warm-up/cosine schedule (warm-up ends at step 10, the cosine runs through both halves). The control
 * run below proves the comparison can fail: dropping the optimiser state makes the weights diverge.
 * (Measured: the resumed run is bit-identical to the straight one; the control differs by ~0.26.)
 */
const K = 100;
const STEPS_PER_EPOCH = 10;

function options(overrides: Parameters<typeof pretrainerOptions>[2] = {}): PretrainerOptions {
  return pretrainerOptions(shape, STEPS_PER_EPOCH, {
    seed: 3,
    model: { encoder: 'resnet-mini', widthMultiplier: 0.25, head: { outputDim: 16 } },
    pretrain: { batchSize: BATCH, epochs: 25, warmupEpochs: 1, ...overrides.pretrain },
    ...(overrides.model ? { model: overrides.model } : {}),
  });
}

async function train(p: Pretrainer, steps: number): Promise<void> {
  for (let i = 0; i < steps; i++) {
    const s = p.globalStep; // the data of a step depends only on the global step
    const b = syntheticViews(s, BATCH, shape);
    await p.step(b.view1, b.view2, b.count);
  }
}

/** Every weight of encoder and head (moving statistics included), by stable name. */
function snapshot(p: Pretrainer): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const model of [p.encoder, p.head.model]) {
    for (const w of model.weights) out.set(w.originalName, w.read().dataSync() as Float32Array);
  }
  return out;
}

function maxAbsDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  let max = 0;
  for (const [name, x] of a) {
    const y = b.get(name)!;
    for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]));
  }
  return max;
}

let root: string;
let store: FsBlobStore;

before(async () => {
  await initBackend('tensorflow');
  root = await mkdtemp(join(tmpdir(), 'simclr-ckpt-'));
  store = new FsBlobStore(root);
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('pretraining checkpoints', () => {
  it('pretrainers built with the same seed start identical, other seeds differ', () => {
    const a = createPretrainer(options());
    const b = createPretrainer(options());
    const c = createPretrainer({ ...options(), seed: 4 });
    try {
      assert.equal(maxAbsDiff(snapshot(a), snapshot(b)), 0);
      assert.ok(maxAbsDiff(snapshot(a), snapshot(c)) > 0.01);
    } finally {
      [a, b, c].forEach((p) => p.dispose());
    }
  });

  it(`2k steps straight equal k steps + save + restore + k steps (k = ${K}), and dropping the optimiser state would show`, async () => {
    const straight = createPretrainer(options());
    await train(straight, 2 * K);
    const expected = snapshot(straight);
    const fresh = createPretrainer(options());
    const initial = snapshot(fresh);
    fresh.dispose();
    straight.dispose();

    const first = createPretrainer(options());
    await train(first, K);
    const key = await saveCheckpoint(store, 'exp/checkpoints', first, {
      rng: new Rng({ seed: 3, epoch: 1, index: 0, view: 7 }).getState(),
    });
    first.dispose();
    assert.equal(key, checkpointKey('exp/checkpoints', K));

    const { pretrainer: resumed, manifest } = await restorePretrainer(store, key, options());
    assert.equal(manifest.globalStep, K);
    assert.equal(manifest.epoch, Math.floor(K / STEPS_PER_EPOCH));
    assert.equal(manifest.stepInEpoch, K % STEPS_PER_EPOCH);
    assert.deepEqual(manifest.rng, { seed: 3, epoch: 1, index: 0, view: 7, drawn: 0 });
    assert.equal(resumed.globalStep, K);
    await train(resumed, K);
    const got = snapshot(resumed);
    resumed.dispose();

    // Control: the same restore without the optimiser's momentum slots drifts far more than the tolerance.
    const { pretrainer: control } = await restorePretrainer(store, key, options());
    control.optimizer.dispose(); // slots dropped: they restart at zero
    await train(control, K);
    const drifted = snapshot(control);
    control.dispose();

    const change = maxAbsDiff(expected, initial);
    const resumeError = maxAbsDiff(got, expected);
    const controlError = maxAbsDiff(drifted, expected);
    assert.ok(change > 0.01, `training moved the weights (max change ${change})`);
    assert.ok(resumeError < 1e-4, `resumed weights equal the straight run's (max difference ${resumeError})`);
    assert.ok(
      controlError > 100 * Math.max(resumeError, 1e-6),
      `without the optimiser state the weights differ (max difference ${controlError})`,
    );
  });

  it('commits with the manifest last and LATEST after it; loadLatestCheckpoint skips uncommitted checkpoints', async () => {
    const prefix = 'latest/checkpoints';
    assert.equal(await loadLatestCheckpoint(store, prefix), undefined);
    const p = createPretrainer(options());
    try {
      await train(p, 2);
      const k2 = await saveCheckpoint(store, prefix, p, { metrics: { loss: 1.5 } });
      assert.equal((await store.get(`${prefix}/LATEST`)).toString('utf8'), k2);
      const files = (await store.list(`${k2}/`)).map((s) => s.key.slice(k2.length + 1)).sort();
      assert.deepEqual(files, [
        'MANIFEST.json',
        'encoder/model.json',
        'encoder/weights.bin',
        'head/model.json',
        'head/weights.bin',
        'optimizer.bin',
      ]);
      assert.equal((await readCheckpointManifest(store, k2)).metrics?.loss, 1.5);

      await train(p, 1);
      const k3 = await saveCheckpoint(store, prefix, p);
      assert.equal((await loadLatestCheckpoint(store, prefix))?.key, k3);

      // A crash before the manifest: LATEST would never point there, but even if it did, it is skipped.
      await store.delete(manifestKey(k3));
      assert.equal((await loadLatestCheckpoint(store, prefix))?.key, k2);
      await assert.rejects(restorePretrainer(store, k3, options()), CheckpointNotFoundError);

      // A crash between the manifest and LATEST: the newer committed checkpoint still wins.
      await train(p, 1);
      const k4 = await saveCheckpoint(store, prefix, p);
      await store.put(`${prefix}/LATEST`, k2);
      assert.equal((await loadLatestCheckpoint(store, prefix))?.key, k4);
      await store.delete(`${prefix}/LATEST`);
      assert.equal((await loadLatestCheckpoint(store, prefix))?.key, k4);

      // Retention: older checkpoints (and the uncommitted remains of k3) go, the newest stays loadable.
      assert.deepEqual(await listCheckpointSteps(store, prefix), [2, 4]);
      assert.deepEqual(await pruneCheckpoints(store, prefix, 1), [k2, k3]);
      assert.deepEqual(await listCheckpointSteps(store, prefix), [4]);
      assert.equal((await store.list(`${k2}/`)).length + (await store.list(`${k3}/`)).length, 0);
      const { pretrainer: restored } = await restorePretrainer(store, k4, options());
      assert.equal(restored.globalStep, 4);
      restored.dispose();
    } finally {
      p.dispose();
    }
  });

  it('refuses a checkpoint written for another configuration and names what differs', async () => {
    const p = createPretrainer(options());
    const key = await saveCheckpoint(store, 'mismatch/checkpoints', p);
    p.dispose();
    await assert.rejects(
      restorePretrainer(store, key, options({ pretrain: { temperature: 0.7 } })),
      (err: Error) => {
        assert.ok(err instanceof CheckpointMismatchError);
        assert.match(err.message, /pretrain\.temperature: 0\.2 → 0\.7/);
        assert.match(err.message, new RegExp(key));
        return true;
      },
    );
    // The checkpoint cadence does not change the trajectory and is not part of the hash.
    const { pretrainer } = await restorePretrainer(
      store,
      key,
      options({ pretrain: { checkpointEverySteps: 7 } }),
    );
    pretrainer.dispose();
  });

  it('stores the encoder as an ordinary tfjs model that loads on its own', async () => {
    const p = createPretrainer(options());
    try {
      await train(p, 3);
      const key = await saveCheckpoint(store, 'standalone/checkpoints', p);
      const f = await tf.loadLayersModel(blobStoreIOHandler(store, `${key}/encoder`));
      const x = tf.randomUniform([4, shape.height, shape.width, shape.channels], 0, 1, 'float32', 1);
      const want = p.encoder.predict(x) as tf.Tensor;
      const got = f.predict(x) as tf.Tensor;
      assert.ok(tf.max(tf.abs(tf.sub(want, got))).dataSync()[0] < 1e-6);
      tf.dispose([x, want, got]);
      f.dispose();
    } finally {
      p.dispose();
    }
  });

  it('warm start takes the weights of another run, keeps its own optimiser at step 0, and refuses another architecture', async () => {
    const parent = createPretrainer(options());
    const child = createPretrainer({ ...options(), seed: 4 });
    const wider = createPretrainer(
      options({ model: { encoder: 'resnet-mini', widthMultiplier: 0.5, head: { outputDim: 16 } } }),
    );
    try {
      await train(parent, 3);
      const key = await saveCheckpoint(store, 'warm-parent/checkpoints', parent);
      assert.ok(maxAbsDiff(snapshot(parent), snapshot(child)) > 0.01, 'other seed, other weights');
      // Another learning-rate schedule is fine: only the architecture must match.
      await warmStartPretrainer(store, key, child);
      assert.equal(maxAbsDiff(snapshot(parent), snapshot(child)), 0);
      assert.equal(child.globalStep, 0);
      await assert.rejects(warmStartPretrainer(store, key, wider), CheckpointMismatchError);
    } finally {
      [parent, child, wider].forEach((p) => p.dispose());
    }
  });
});
