/**
 * `simclr embed` and `simclr neighbors` as a user runs them: a real checkpoint of a tiny trained encoder
 * in the filesystem store, a generated image folder (two classes and one duplicate image), the embed
 * workflow on a real Temporal dev server, embedded (--embedded) and against separate workers, then
 * nearest neighbours of the duplicated image.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { EmbedResult } from '../../contracts';
import { initBackend, tf } from '../../simclr/backend';
import { blobStoreIOHandler, saveCheckpoint } from '../../simclr/checkpoint';
import { decodeImage } from '../../simclr/datasets/decode';
import { openEmbeddings, type EmbeddingBatch } from '../../simclr/embeddings-file';
import { extractFeatures } from '../../simclr/evaluate/features';
import { createPretrainer } from '../../simclr/train';
import { FsBlobStore } from '../../storage/fs-store';
import { openStore } from '../../storage/open';
import { checkpointsPrefix } from '../../storage/layout';
import { joinKey } from '../../storage/keys';
import type { WorkersHandle } from '../../workers/run-workers';
import { parseJsonOutput, runSimclr } from '../helpers/cli';
import { withMinio } from '../helpers/minio';
import { pretrainerOptions, syntheticViews } from '../helpers/pretrain';
import { startTestTemporal, startTestWorkers } from '../helpers/temporal';

const shape = { height: 16, width: 16, channels: 3 } as const;
const RUN = 'tiny-encoder';
const PER_CLASS = 10;

let temporal: TestWorkflowEnvironment;
let home: string;
let images: string;
let checkpoint: string;
const savedEnv = { ...process.env };

/** A 32-px PNG: a disc or a square of a seeded colour on a seeded background. */
async function drawImage(file: string, kind: 'disc' | 'square', seed: number): Promise<void> {
  const c = (k: number) => (seed * 53 + k * 97) % 200;
  const shapeSvg =
    kind === 'disc'
      ? `<circle cx="${12 + (seed % 8)}" cy="16" r="${7 + (seed % 4)}" fill="rgb(${c(1)},${c(2)},240)"/>`
      : `<rect x="${4 + (seed % 6)}" y="6" width="${14 + (seed % 5)}" height="16" fill="rgb(240,${c(3)},${c(4)})"/>`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect width="32" height="32" fill="rgb(${c(5)},${c(6)},${c(7)})"/>${shapeSvg}</svg>`;
  await sharp(Buffer.from(svg)).png().toFile(file);
}

before(async () => {
  await initBackend('tensorflow');
  temporal = await startTestTemporal();
  home = mkdtempSync(join(tmpdir(), 'simclr-embed-'));
  images = join(home, 'images');
  for (const kind of ['disc', 'square'] as const) {
    mkdirSync(join(images, kind), { recursive: true });
    for (let i = 0; i < PER_CLASS; i++)
      await drawImage(
        join(images, kind, `${String(i).padStart(3, '0')}.png`),
        kind,
        i + (kind === 'disc' ? 0 : 50),
      );
  }
  copyFileSync(join(images, 'disc', '000.png'), join(images, 'disc', 'dup.png'));
  writeFileSync(join(images, 'README.txt'), 'not an image');

  // A tiny real encoder: a few SimCLR steps, saved as run RUN's checkpoint in the default store.
  const p = createPretrainer(
    pretrainerOptions(shape, 4, {
      seed: 5,
      model: { encoder: 'resnet-mini', widthMultiplier: 0.25, head: { outputDim: 16 } },
      pretrain: { batchSize: 8, epochs: 1, warmupEpochs: 0 },
    }),
  );
  for (let s = 0; s < 3; s++) {
    const v = syntheticViews(s, 8, shape);
    await p.step(v.view1, v.view2, v.count);
  }
  checkpoint = await saveCheckpoint(new FsBlobStore(join(home, 'store')), checkpointsPrefix(RUN), p);
  p.dispose();
});

after(async () => {
  await temporal?.teardown();
  rmSync(home, { recursive: true, force: true });
  process.env = savedEnv;
});

async function readAll(path: string): Promise<EmbeddingBatch[]> {
  const file = await openEmbeddings(path);
  const out: EmbeddingBatch[] = [];
  for await (const b of file.batches()) out.push(b);
  return out;
}

/** name → embedding of every row. */
function byName(batches: EmbeddingBatch[]): Map<string, { label: number; embedding: Float32Array }> {
  const m = new Map<string, { label: number; embedding: Float32Array }>();
  for (const b of batches)
    b.names.forEach((n, i) =>
      m.set(n, { label: b.labels[i], embedding: b.embeddings.slice(i * b.dim, (i + 1) * b.dim) }),
    );
  return m;
}

const opts = () => ({ home, address: temporal.address, timeoutMs: 240_000 });
/** neighbors needs no Temporal. */
const local = () => ({ home, timeoutMs: 120_000 });
const names = [
  ...Array.from({ length: PER_CLASS }, (_, i) => `disc/${String(i).padStart(3, '0')}.png`),
  'disc/dup.png',
  ...Array.from({ length: PER_CLASS }, (_, i) => `square/${String(i).padStart(3, '0')}.png`),
];

test('embed --embedded writes one Parquet row per image with the encoder’s own embeddings; a rerun reuses every part', async () => {
  const out = join(home, 'out', 'images.parquet');
  const r = await runSimclr(
    ['embed', RUN, images, '--out', out, '--embedded', '--json', '--concurrency', '2', '--batch-size', '4'],
    opts(),
  );
  assert.equal(r.code, 0, r.stderr);
  const doc = parseJsonOutput(r) as unknown as EmbedResult & { out: string[] };
  assert.deepEqual(doc.out, [out]);
  assert.equal(doc.rows, names.length);
  assert.ok(doc.shards.total >= 2 && doc.shards.computed === doc.shards.total, JSON.stringify(doc.shards));

  const file = await openEmbeddings(out);
  assert.equal(file.meta.rows, names.length);
  assert.deepEqual(file.meta.classNames, ['disc', 'square']);
  assert.deepEqual(file.meta.model, {
    kind: 'checkpoint',
    ref: checkpoint,
    key: checkpoint,
    step: 3,
    experimentId: RUN,
    storeLocation: file.meta.model.kind === 'checkpoint' ? file.meta.model.storeLocation : '',
  });
  const rows = byName(await readAll(out));
  assert.deepEqual([...rows.keys()].sort(), [...names].sort());
  for (const [name, row] of rows) assert.equal(row.label, name.startsWith('disc/') ? 0 : 1, name);

  // The encoder applied directly to the decoded images gives the same embeddings.
  const encoder = await tf.loadLayersModel(
    blobStoreIOHandler(new FsBlobStore(join(home, 'store')), joinKey(checkpoint, 'encoder')),
  );
  const pixels = new Uint8Array(names.length * 16 * 16 * 3);
  for (const [i, n] of names.entries())
    pixels.set(await decodeImage(join(images, n), { size: 16, channels: 3 }), i * 16 * 16 * 3);
  const direct = await extractFeatures(encoder, pixels, names.length, shape, 64);
  const dim = direct.length / names.length;
  assert.equal(file.meta.dim, dim);
  for (const [i, n] of names.entries()) {
    const got = rows.get(n)!.embedding;
    for (let j = 0; j < dim; j++)
      assert.ok(
        Math.abs(got[j] - direct[i * dim + j]) < 1e-4 * (1 + Math.abs(direct[i * dim + j])),
        `${n}[${j}]`,
      );
  }

  // Against separate workers (this process's), the same embedding again: every part is reused.
  process.env.SIMCLR_HOME = home;
  delete process.env.SIMCLR_STORE;
  const workers: WorkersHandle = await startTestWorkers(temporal);
  try {
    const again = await runSimclr(['embed', RUN, images, '--out', out, '--json'], opts());
    assert.equal(again.code, 0, again.stderr);
    const d2 = parseJsonOutput(again) as unknown as EmbedResult;
    assert.equal(d2.embedId, doc.embedId);
    assert.deepEqual(d2.shards, { total: doc.shards.total, computed: 0, reused: doc.shards.total });

    // The .npy format: the same rows, with the names and labels in the CSV beside it.
    const npy = join(home, 'out', 'images.npy');
    const n = await runSimclr(['embed', RUN, images, '--out', npy, '--format', 'npy', '--json'], opts());
    assert.equal(n.code, 0, n.stderr);
    assert.ok(existsSync(join(home, 'out', 'images.csv')) && existsSync(join(home, 'out', 'images.json')));
    assert.equal(statSync(npy).size % 4, 0);
    const npyRows = byName(await readAll(npy));
    assert.deepEqual([...npyRows.keys()], [...rows.keys()]);
    for (const [name, row] of rows) assert.deepEqual(npyRows.get(name), row);

    // The run exported with `simclr export` (standard layers + model card) embeds the same way.
    const exported = join(home, 'exported');
    const x = await runSimclr(['export', RUN, '--out', exported, '--json'], local());
    assert.equal(x.code, 0, x.stderr);
    const viaExport = join(home, 'out', 'exported-test.parquet');
    const e = await runSimclr(
      ['embed', exported, images, '--out', viaExport, '--split', 'test', '--json'],
      opts(),
    );
    assert.equal(e.code, 0, e.stderr);
    const d3 = parseJsonOutput(e) as unknown as EmbedResult;
    assert.deepEqual(d3.model, { kind: 'exported', ref: exported });
    assert.notEqual(d3.embedId, doc.embedId);
    const testRows = byName(await readAll(viaExport));
    // (The export carries no seed, so a folder without train/ and test/ splits under the default seed.)
    const testCount = (await readAll(out)).reduce(
      (n, b) => n + b.splits.filter((x) => x === 'test').length,
      0,
    );
    assert.equal(testRows.size, testCount);
    for (const [name, row] of testRows) {
      const want = rows.get(name)!.embedding;
      assert.ok(
        row.embedding.every((v, j) => Math.abs(v - want[j]) < 1e-5),
        name,
      );
    }
  } finally {
    await workers.shutdown();
  }
});

test('neighbors of a duplicated image: itself and its copy first, similarity ~1, with a contact sheet', async () => {
  const file = join(home, 'out', 'images.parquet');
  const sheet = join(home, 'out', 'sheet.html');
  const r = await runSimclr(
    ['neighbors', file, join(images, 'disc', '000.png'), '-k', '3', '--out', sheet, '--json'],
    local(),
  );
  assert.equal(r.code, 0, r.stderr);
  const doc = parseJsonOutput(r) as {
    neighbours: { index: number; name: string; similarity: number; className: string }[];
  };
  assert.equal(doc.neighbours.length, 3);
  assert.deepEqual(
    doc.neighbours
      .slice(0, 2)
      .map((n) => n.name)
      .sort(),
    ['disc/000.png', 'disc/dup.png'],
  );
  for (const n of doc.neighbours.slice(0, 2)) assert.ok(n.similarity > 0.999, `${n.name}: ${n.similarity}`);
  assert.ok(doc.neighbours[2].similarity < doc.neighbours[1].similarity);
  const html = (await import('node:fs')).readFileSync(sheet, 'utf8');
  assert.equal((html.match(/data:image\/png;base64,/g) ?? []).length, 4);

  // By row: the row itself is left out, so its duplicate comes first.
  const row = doc.neighbours.find((n) => n.name === 'disc/000.png')!.index;
  const png = join(home, 'out', 'sheet.png');
  const byRow = await runSimclr(['neighbors', file, String(row), '--out', png, '--json'], local());
  assert.equal(byRow.code, 0, byRow.stderr);
  const d2 = parseJsonOutput(byRow) as typeof doc;
  assert.equal(d2.neighbours.length, 10);
  assert.equal(d2.neighbours[0].name, 'disc/dup.png');
  assert.ok(d2.neighbours.every((n) => n.index !== row));
  const meta = await sharp(png).metadata();
  assert.ok(meta.width! > 11 * 100, `sheet ${meta.width}x${meta.height}`);
  // The table's header names the query row with its class, as the sheet's caption does.
  const text = await runSimclr(['neighbors', file, String(row), '-k', '2'], local());
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    new RegExp(`^2 nearest neighbours of row ${row} \\(disc/000\\.png, disc\\)`, 'm'),
  );
});

test('bad input: unknown run, missing or unusable source, bad --format, bad query: clear errors', async () => {
  const out = join(home, 'bad.parquet');
  const format = await runSimclr(['embed', RUN, images, '--out', out, '--format', 'csv'], opts());
  assert.equal(format.code, 2);
  assert.match(format.stderr, /--format must be one of parquet, npy, got 'csv'/);
  const missing = await runSimclr(['embed', RUN, join(home, 'nowhere'), '--out', out], opts());
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /source '.*nowhere' does not exist/);
  const query = await runSimclr(['neighbors', join(home, 'out', 'images.parquet'), '9999'], local());
  assert.equal(query.code, 2);
  assert.match(query.stderr, /row 9999: .* has 21 rows/);

  const unknown = await runSimclr(['embed', 'no-such-run', images, '--out', out, '--embedded'], opts());
  assert.equal(unknown.code, 1, unknown.stderr);
  assert.match(unknown.stdout, /ModelNotFoundError: model 'no-such-run': unknown run 'no-such-run'/);
  const notAFolder = await runSimclr(
    ['embed', RUN, join(images, 'README.txt'), '--out', out, '--embedded'],
    opts(),
  );
  assert.equal(notAFolder.code, 1, notAFolder.stderr);
  assert.match(notAFolder.stdout, /DatasetError: dataset.source: '.*README.txt' is a file, not a folder/);
  assert.ok(!existsSync(out));
});

test('embed with the store on MinIO: parts and file in the bucket, the same rows on disk', async () => {
  await withMinio(async (minio) => {
    const fs = new FsBlobStore(join(home, 'store'));
    const s3 = await openStore('s3://embeddings', minio.env());
    for (const { key } of await fs.list(`experiments/${RUN}/`)) await s3.put(key, await fs.get(key));
    const out = join(home, 'out', 'from-minio.parquet');
    const env = { ...minio.env(), SIMCLR_STORE: 's3://embeddings' };
    const r = await runSimclr(['embed', RUN, images, '--out', out, '--embedded', '--json'], {
      ...opts(),
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    const doc = parseJsonOutput(r) as unknown as EmbedResult;
    assert.match(doc.storeLocation, /^s3:\/\/embeddings/);
    assert.ok(!r.stdout.includes(minio.secretKey), 'no credential in the output');
    assert.ok((await s3.list(`embeddings/${doc.embedId}/parts/`)).length >= 4, 'parts in the bucket');
    const fromS3 = byName(await readAll(out));
    const local = byName(await readAll(join(home, 'out', 'images.parquet')));
    assert.deepEqual([...fromS3.keys()].sort(), [...local.keys()].sort());
    for (const [name, row] of fromS3) assert.deepEqual(row, local.get(name), name);
  });
});
