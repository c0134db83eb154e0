/**
 * simclr/portable-model.ts over every architecture and head the project builds: the rewritten model
 * names no project layer and computes what the trained model computes in inference, with its weights
 * (moving statistics off their initial values, so batch norm really normalises).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, tf } from '../../simclr/backend';
import { blobStoreIOHandler } from '../../simclr/checkpoint';
import { buildProjectionHead } from '../../simclr/heads';
import { loadPortableModel, portableTopology, PROJECT_LAYER_CLASSES } from '../../simclr/portable-model';
import { buildEncoder, type EncoderOptions } from '../../simclr/resnet';
import { FsBlobStore } from '../../storage/fs-store';

let root: string;
let store: FsBlobStore;

before(async () => {
  await initBackend('tensorflow');
  root = mkdtempSync(join(tmpdir(), 'simclr-portable-'));
  store = new FsBlobStore(root);
});

after(() => rmSync(root, { recursive: true, force: true }));

/** Every weight set to seeded random values (variances positive), as training leaves them. */
function randomiseWeights(model: tf.LayersModel, seed: number): void {
  model.weights.forEach((w, i) => {
    const positive = w.originalName.endsWith('moving_variance');
    w.write(
      tf.randomUniform(w.shape as number[], positive ? 0.5 : -0.5, positive ? 2 : 0.5, 'float32', seed + i),
    );
  });
}

/** Saves `model` with the project's layers, loads it portable, compares their inference outputs. */
async function roundTrip(model: tf.LayersModel, input: tf.Tensor, prefix: string): Promise<number> {
  await model.save(blobStoreIOHandler(store, prefix));
  const portable = await loadPortableModel(store, prefix);
  try {
    const classes = new Set(portable.layers.map((l) => l.getClassName()));
    for (const c of PROJECT_LAYER_CLASSES) assert.ok(!classes.has(c), `${prefix} still has ${c}`);
    return tf.tidy(() => {
      const a = model.predict(input) as tf.Tensor;
      const b = portable.predict(input) as tf.Tensor;
      assert.deepEqual(b.shape, a.shape);
      return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / Math.max(1, tf.max(tf.abs(a)).dataSync()[0]);
    });
  } finally {
    portable.dispose();
  }
}

describe('portable model', () => {
  const encoders: [string, EncoderOptions][] = [
    [
      'resnet-mini, cifar stem, grey',
      { encoder: 'resnet-mini', widthMultiplier: 0.5, stem: 'cifar', inputShape: [12, 12, 1] },
    ],
    [
      'resnet18, imagenet stem, rgb',
      { encoder: 'resnet18', widthMultiplier: 0.125, stem: 'imagenet', inputShape: [32, 32, 3] },
    ],
    [
      'resnet50 (bottleneck)',
      { encoder: 'resnet50', widthMultiplier: 0.0625, stem: 'cifar', inputShape: [16, 16, 3] },
    ],
  ];
  for (const [name, opts] of encoders) {
    it(`${name}: standard layers, same outputs`, async () => {
      const model = buildEncoder({ ...opts, seed: 1 });
      randomiseWeights(model, 7);
      const x = tf.randomUniform([3, ...opts.inputShape], 0, 1, 'float32', 3);
      try {
        assert.ok((await roundTrip(model, x, `enc-${opts.encoder}-${opts.stem}`)) <= 1e-6);
      } finally {
        x.dispose();
        model.dispose();
      }
    });
  }

  const heads = [
    { type: 'nonlinear', layers: 3, outputDim: 8, batchNorm: true },
    { type: 'nonlinear', layers: 2, outputDim: 8, batchNorm: false },
    { type: 'linear', layers: 1, outputDim: 8, batchNorm: true },
    { type: 'none', layers: 0, outputDim: 8, batchNorm: false },
  ] as const;
  for (const cfg of heads) {
    it(`head ${cfg.type} (${cfg.layers} layers, batch norm ${cfg.batchNorm}): same outputs`, async () => {
      const head = buildProjectionHead({ ...cfg, hiddenDim: 16, seed: 2 }, 16);
      randomiseWeights(head.model, 11);
      const h = tf.randomNormal([5, 16], 0, 1, 'float32', 5);
      try {
        assert.ok(
          (await roundTrip(head.model, h, `head-${cfg.type}-${cfg.layers}-${cfg.batchNorm}`)) <= 1e-6,
        );
      } finally {
        h.dispose();
        head.model.dispose();
      }
    });
  }

  it('refuses a project layer it has no standard equivalent for', () => {
    const topology = {
      class_name: 'Model',
      config: { layers: [{ class_name: 'SimclrSomethingNew', name: 'x', config: {}, inbound_nodes: [] }] },
    };
    assert.throws(() => portableTopology(topology), /layer 'x' is of the project's class SimclrSomethingNew/);
  });
});
