/**
 * `simclr export` as a user runs it: a real checkpoint (the shapes dataset sharded by the dataset
 * activities, a few pretraining steps, saved by the pipeline's checkpoint code) exported through the
 * command line, then loaded in FRESH processes that have nothing but TensorFlow.js
 * (test/fixtures/load-exported-model.mjs): plain @tensorflow/tfjs over HTTP, as a browser loads it,
 * and @tensorflow/tfjs-node from file://. Their embeddings of the dataset's test images must equal
 * the checkpoint encoder's (and head's), computed here with the project's own training layers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { activityStore } from '../../activities/context';
import { MODEL_CARD_JSON, parseModelCard, type ModelCard } from '../../contracts/model-card';
import type { DatasetManifest } from '../../contracts';
import type { ExperimentConfig } from '../../config/schema';
import { findTfjsConverter } from '../../infra/tfjs-converter';
import { initBackend, tf } from '../../simclr/backend';
import { blobStoreIOHandler, readCheckpointManifest } from '../../simclr/checkpoint';
import { decodeShard } from '../../simclr/datasets/shard-format';
import { loadEncoder, resolveEncoderSource } from '../../simclr/encoder-source';
import type { BlobStore } from '../../storage/blob-store';
import { scheduleKeys } from '../../storage/layout';
import { openStore } from '../../storage/open';
import { writeJson } from '../../storage/schedule-records';
import { withMinio } from '../helpers/minio';
import { shapesPretrainFixture, shardedDatasetWithCheckpoint } from '../helpers/activity-fixture';
import { parseJsonOutput, ROOT, runSimclr, type CliResult } from '../helpers/cli';

const run = promisify(execFile);
const RUN = 'export-test';
const LOADER = join(ROOT, 'test/fixtures/load-exported-model.mjs');
/** Float tolerance between backends (TensorFlow C, tfjs' JS kernels): relative to max(1, |value|). */
const TOLERANCE = 1e-5;

let work: string;
let home: string;
let store: BlobStore;
let checkpoint: string;
let dataset: DatasetManifest;
let pixels: Uint8Array;
let count: number;
/** h and z of the test images by the checkpoint's own models (the project's training layers). */
let expectedH: number[][];
let expectedZ: number[][];
const savedEnv = { ...process.env };

function simclr(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runSimclr(args, {
    home,
    env: { SIMCLR_STORE: process.env.SIMCLR_STORE, ...env },
    timeoutMs: 120_000,
  });
}

/** Largest |a − b| / max(1, |a|) over two equal-shaped matrices. */
function maxRelativeDiff(a: number[][], b: number[][]): number {
  assert.equal(b.length, a.length);
  let max = 0;
  a.forEach((row, i) => {
    assert.equal(b[i].length, row.length);
    row.forEach((v, j) => (max = Math.max(max, Math.abs(v - b[i][j]) / Math.max(1, Math.abs(v)))));
  });
  return max;
}

/** Runs the user's program in a fresh node process; resolves to its JSON result. */
async function loadInFreshProcess(
  mode: 'http' | 'file',
  dir: string,
): Promise<{ backend: string; classes: string[]; h: number[][]; z?: number[][] }> {
  const pixelsFile = join(work, 'pixels.bin');
  const outFile = join(work, `out-${mode}.json`);
  rmSync(outFile, { force: true });
  await run(process.execPath, [LOADER, mode, dir, pixelsFile, outFile], {
    cwd: work,
    env: { PATH: process.env.PATH, TF_CPP_MIN_LOG_LEVEL: '2' },
    timeout: 60_000,
  });
  return JSON.parse(readFileSync(outFile, 'utf8'));
}

before(async () => {
  let config: ExperimentConfig;
  ({ work, config, dataset } = await shapesPretrainFixture('simclr-export-', {
    name: RUN,
    seed: 4,
    pretrain: { epochs: 1, batchSize: 32, warmupEpochs: 0 },
  }));
  home = process.env.SIMCLR_HOME!;
  await initBackend('tensorflow');
  // Four pretraining steps saved as the run's checkpoint (the dataset is already committed).
  ({ checkpoint } = await shardedDatasetWithCheckpoint(RUN, config, 4));
  store = await activityStore();

  const shard = decodeShard(await store.get(dataset.splits.test.shards[0].key));
  pixels = shard.pixels;
  count = shard.count;
  writeFileSync(join(work, 'pixels.bin'), pixels);
  const encoder = await tf.loadLayersModel(blobStoreIOHandler(store, `${checkpoint}/encoder`));
  const head = await tf.loadLayersModel(blobStoreIOHandler(store, `${checkpoint}/head`));
  assert.ok(
    encoder.layers.some((l) => l.getClassName() === 'SimclrBatchNorm'),
    'the checkpoint has custom layers',
  );
  const { height, width, channels } = shard.shape;
  [expectedH, expectedZ] = tf.tidy(() => {
    const x = tf.tensor4d(pixels, [count, height, width, channels], 'float32').div(255);
    const h = encoder.predict(x) as tf.Tensor2D;
    return [h.arraySync(), (head.predict(h) as tf.Tensor2D).arraySync()];
  });
  encoder.dispose();
  head.dispose();
});

after(() => {
  rmSync(work, { recursive: true, force: true });
  process.env = savedEnv;
});

describe('simclr export', () => {
  let dir: string;
  let card: ModelCard;

  it('exports a run: encoder and head as standard layers, with the model card', async () => {
    dir = join(work, 'exported');
    const r = await simclr(['export', RUN, '--out', dir, '--with-head', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = parseJsonOutput(r) as { out: string; card: unknown };
    assert.equal(doc.out, dir);
    card = parseModelCard(JSON.parse(readFileSync(join(dir, MODEL_CARD_JSON), 'utf8')));
    assert.deepEqual(doc.card, card);

    const manifest = await readCheckpointManifest(store, checkpoint);
    assert.equal(card.source.checkpoint, checkpoint);
    assert.equal(card.source.experimentId, RUN);
    assert.equal(card.source.globalStep, 4);
    assert.equal(card.source.configHash, manifest.configHash);
    assert.deepEqual(card.files, { encoder: 'encoder/model.json', head: 'head/model.json' });
    assert.equal(card.exportFormat, 'tfjs');
    assert.equal(card.architecture.encoder, 'resnet-mini');
    assert.equal(card.architecture.stem, 'cifar');
    assert.equal(card.architecture.representationDim, expectedH[0].length);
    assert.equal(card.architecture.head.outputDim, expectedZ[0].length);
    assert.deepEqual(
      { h: card.input.height, w: card.input.width, c: card.input.channels, scale: card.input.scale },
      { h: dataset.imageSize, w: dataset.imageSize, c: dataset.channels, scale: 1 / 255 },
    );
    assert.deepEqual([card.input.mean, card.input.std, card.input.colorSpace], [[0], [1], 'grayscale']);
    assert.match(card.codeVersion.export, /^git:[0-9a-f]{40}/);
    // No report yet (the run is a bare checkpoint): the card says so rather than inventing results.
    assert.equal(card.evaluation, undefined);
    assert.equal(card.trainingData, undefined);
    assert.match(r.stderr, /has no report yet/);

    for (const part of ['encoder', 'head']) {
      const json = readFileSync(join(dir, part, 'model.json'), 'utf8');
      assert.doesNotMatch(json, /Simclr/, `${part}/model.json still names a project layer`);
      assert.ok(existsSync(join(dir, part, 'weights.bin')));
    }
    const md = readFileSync(join(dir, 'MODEL_CARD.md'), 'utf8');
    for (const section of [
      '## Architecture',
      '## Input: what to do to raw pixels',
      '## Training',
      '## Evaluation',
    ])
      assert.ok(md.includes(section), `MODEL_CARD.md lacks '${section}'`);
    assert.ok(md.includes(manifest.configHash));
  });

  it('loads in a fresh process with plain @tensorflow/tfjs over HTTP (as a browser does): same h and z', async (t) => {
    const got = await loadInFreshProcess('http', dir);
    assert.equal(got.backend, 'cpu');
    assert.ok(!got.classes.some((c) => c.startsWith('Simclr')), got.classes.join(', '));
    assert.equal(got.h.length, count);
    const dh = maxRelativeDiff(expectedH, got.h);
    const dz = maxRelativeDiff(expectedZ, got.z!);
    t.diagnostic(`plain tfjs (cpu): h differs by ${dh.toExponential(2)}, z by ${dz.toExponential(2)}`);
    assert.ok(dh <= TOLERANCE, `h differs by ${dh}`);
    assert.ok(dz <= TOLERANCE, `z differs by ${dz}`);
  });

  it('loads in a fresh process with @tensorflow/tfjs-node from file://: same h and z', async () => {
    const got = await loadInFreshProcess('file', dir);
    assert.equal(got.backend, 'tensorflow');
    const dh = maxRelativeDiff(expectedH, got.h);
    assert.ok(dh <= TOLERANCE, `h differs by ${dh}`);
    assert.ok(maxRelativeDiff(expectedZ, got.z!) <= TOLERANCE);
  });

  it('loads in a real browser (headless Chromium, tf.min.js from a script tag): same h', async (t) => {
    // A static site: the page, TensorFlow.js' browser bundle, the export folder and the test images.
    const files: Record<string, string> = {
      '/index.html': join(work, 'index.html'),
      '/tf.min.js': join(ROOT, 'node_modules/@tensorflow/tfjs/dist/tf.min.js'),
      '/pixels.bin': join(work, 'pixels.bin'),
    };
    writeFileSync(files['/index.html'], '<!doctype html><script src="tf.min.js"></script>');
    const server = createServer((req, res) => {
      const path = new URL(req.url!, 'http://localhost').pathname;
      const file =
        files[path] ?? (path.startsWith('/model/') ? join(dir, path.slice('/model/'.length)) : undefined);
      if (file === undefined || !existsSync(file)) {
        res.statusCode = 404;
        return res.end();
      }
      res.end(readFileSync(file));
    });
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/index.html`);
      const got = await page.evaluate(async (input) => {
        // The page's code: what a web app does with an export, nothing of this project.
        const tf = (globalThis as unknown as { tf: typeof import('@tensorflow/tfjs') }).tf;
        const f = await tf.loadLayersModel('model/encoder/model.json');
        const pixels = new Uint8Array(await (await fetch('pixels.bin')).arrayBuffer());
        const n = pixels.length / (input.height * input.width * input.channels);
        const x = tf
          .tensor4d(pixels, [n, input.height, input.width, input.channels], 'float32')
          .mul(input.scale);
        return {
          backend: tf.getBackend(),
          h: (await (f.predict(x) as typeof x).array()) as unknown as number[][],
        };
      }, card.input);
      assert.ok(['webgl', 'cpu'].includes(got.backend), got.backend);
      const dh = maxRelativeDiff(expectedH, got.h);
      t.diagnostic(`browser backend ${got.backend}: h differs by at most ${dh.toExponential(2)}`);
      assert.ok(dh <= TOLERANCE, `h differs by ${dh} on ${got.backend}`);
    } finally {
      await browser.close();
      server.close();
    }
  });

  it("a checkpoint's own model.json does not load in a bare TensorFlow.js (why the export rewrites it)", async () => {
    const raw = join(work, 'raw');
    mkdirSync(raw, { recursive: true });
    cpSync(join(work, 'store', checkpoint, 'encoder'), join(raw, 'encoder'), { recursive: true });
    writeFileSync(
      join(raw, MODEL_CARD_JSON),
      JSON.stringify({ ...card, files: { encoder: 'encoder/model.json' } }),
    );
    await assert.rejects(loadInFreshProcess('http', raw), /Unknown layer: Simclr/);
  });

  it('simclr/encoder-source.ts loads the export and the checkpoint alike', async () => {
    for (const ref of [dir, RUN, checkpoint, join(work, 'store', checkpoint)]) {
      const source = await resolveEncoderSource(ref, activityStore);
      const loaded = await loadEncoder(source);
      try {
        assert.deepEqual(loaded.input, card.input, ref);
        assert.equal(loaded.representationDim, card.architecture.representationDim);
        const h = tf.tidy(() =>
          (
            loaded.model.predict(
              tf
                .tensor4d(
                  pixels,
                  [count, card.input.height, card.input.width, card.input.channels],
                  'float32',
                )
                .div(255),
            ) as tf.Tensor2D
          ).arraySync(),
        );
        assert.ok(maxRelativeDiff(expectedH, h) <= TOLERANCE, ref);
      } finally {
        loaded.model.dispose();
      }
    }
  });

  it('exports from MinIO the same model as from the filesystem store', async () => {
    await withMinio(async (minio) => {
      const s3 = await openStore('s3://exports', minio.env());
      for (const { key } of await store.list(`experiments/${RUN}/`)) await s3.put(key, await store.get(key));
      const out = join(work, 'from-minio');
      const r = await simclr(['export', RUN, '--out', out, '--with-head'], {
        ...minio.env(),
        SIMCLR_STORE: 's3://exports',
      });
      assert.equal(r.code, 0, r.stderr);
      const fromS3 = parseModelCard(JSON.parse(readFileSync(join(out, MODEL_CARD_JSON), 'utf8')));
      assert.equal(fromS3.source.checkpoint, checkpoint);
      assert.match(fromS3.source.storeLocation, /^s3:\/\/exports/);
      assert.ok(!JSON.stringify(fromS3).includes(minio.secretKey), 'no credential in the card');
      for (const file of ['encoder/model.json', 'encoder/weights.bin', 'head/weights.bin'])
        assert.ok(readFileSync(join(out, file)).equals(readFileSync(join(dir, file))), file);
    });
  });

  it("exports a schedule's current model (models/<schedule>)", async () => {
    await writeJson(store, scheduleKeys('nightly').current, {
      experimentId: RUN,
      checkpoint,
      linearTop1: 0.5,
      promotedAt: new Date().toISOString(),
    });
    const out = join(work, 'current');
    const r = await simclr(['export', 'models/nightly', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const exported = parseModelCard((parseJsonOutput(r) as { card: unknown }).card);
    assert.equal(exported.source.checkpoint, checkpoint);
    assert.equal(exported.source.experimentId, RUN);
    const none = await simclr(['export', 'models/weekly', '--out', join(work, 'x0')]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /schedule 'weekly' has no current model/);
  });

  it('refuses bad input with errors that name it', async () => {
    const unknown = await simclr(['export', 'no-such-run', '--out', join(work, 'x1')]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown run 'no-such-run': nothing under experiments\/no-such-run\//);

    const missing = await simclr([
      'export',
      `experiments/${RUN}/checkpoints/step-00000999`,
      '--out',
      join(work, 'x2'),
    ]);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /no committed checkpoint 'experiments\/export-test\/checkpoints\/step-00000999'/,
    );

    const notAFolder = await simclr(['export', join(work, 'nowhere'), '--out', join(work, 'x3')]);
    assert.equal(notAFolder.code, 1);
    assert.match(notAFolder.stderr, /no folder .*nowhere/);

    const busy = await simclr(['export', RUN, '--out', dir]);
    assert.equal(busy.code, 2);
    assert.match(busy.stderr, /--out .*exported is not empty .*give --force/);

    assert.match((await simclr(['export', RUN])).stderr, /missing --out DIR/);
    const badFormat = await simclr(['export', RUN, '--out', join(work, 'x4'), '--format', 'onnx']);
    assert.equal(badFormat.code, 2);
    assert.match(badFormat.stderr, /--format must be one of tfjs, savedmodel, got 'onnx'/);

    const noConverter = await simclr(['export', RUN, '--out', join(work, 'x5'), '--format', 'savedmodel'], {
      SIMCLR_TFJS_CONVERTER: join(work, 'no-converter'),
    });
    assert.equal(noConverter.code, 1);
    assert.match(noConverter.stderr, /tfjs-node cannot write SavedModels/);
    assert.match(noConverter.stderr, /infra\/setup-tfjs-converter\.sh/);
    assert.ok(!existsSync(join(work, 'x5')), 'nothing written when the export cannot be made');
  });

  it('--force replaces an earlier export and keeps foreign files', async () => {
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const r = await simclr(['export', checkpoint, '--out', dir, '--force']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'mine');
    assert.ok(!existsSync(join(dir, 'head')), "the earlier export's head is gone (no --with-head now)");
    const again = parseModelCard(JSON.parse(readFileSync(join(dir, MODEL_CARD_JSON), 'utf8')));
    assert.deepEqual(again.files, { encoder: 'encoder/model.json' });
    assert.equal(again.source.checkpoint, checkpoint);
  });

  it('--format savedmodel writes a SavedModel that Python TensorFlow loads with the same h', async (t) => {
    const converter = findTfjsConverter();
    if (!converter) {
      t.skip('the tfjs converter is not installed (infra/setup-tfjs-converter.sh)');
      return;
    }
    const out = join(work, 'saved');
    const r = await simclr(['export', RUN, '--out', out, '--format', 'savedmodel', '--with-head']);
    assert.equal(r.code, 0, r.stderr);
    const saved = parseModelCard(JSON.parse(readFileSync(join(out, MODEL_CARD_JSON), 'utf8')));
    assert.equal(saved.exportFormat, 'savedmodel');
    assert.equal(saved.files.savedModel, 'savedmodel/encoder');
    assert.equal(saved.files.savedModelHead, 'savedmodel/head');
    for (const part of ['encoder', 'head'])
      assert.ok(existsSync(join(out, 'savedmodel', part, 'saved_model.pb')), part);
    const python = join(converter, '..', 'python');
    const script = [
      'import sys, json, numpy as np, tf_keras',
      'm = tf_keras.models.load_model(sys.argv[1])',
      `x = np.fromfile(sys.argv[2], dtype=np.uint8).reshape(-1, ${saved.input.height}, ${saved.input.width}, ${saved.input.channels}).astype(np.float32) / 255`,
      'print(json.dumps(m.predict(x, verbose=0).tolist()))',
    ].join('\n');
    const { stdout } = await run(
      python,
      ['-c', script, join(out, 'savedmodel/encoder'), join(work, 'pixels.bin')],
      {
        env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
        timeout: 300_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const h = JSON.parse(stdout.trim().split('\n').pop()!) as number[][];
    const dh = maxRelativeDiff(expectedH, h);
    assert.ok(dh <= TOLERANCE, `h differs by ${dh}`);
  });
});
