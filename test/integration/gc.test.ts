/**
 * `simclr gc` against a real Temporal dev server, the real filesystem store and a real MinIO: the
 * store is seeded with the data of open runs (an experiment workflow and a legacy pretrain loop that
 * stay open, no worker polls their queue), of a terminated run and of runs Temporal never knew, plus
 * interrupted writes and S3 source mirrors. `--dry-run` lists exactly the orphans and removes nothing;
 * gc then removes exactly them, nothing of an open run, and a second gc finds nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parseExperiment } from '../../config/load';
import type { BlobStore } from '../../storage/blob-store';
import { FsBlobStore } from '../../storage/fs-store';
import { MinioBlobStore } from '../../storage/minio-store';
import { parseJsonOutput, runSimclr } from '../helpers/cli';
import { startTestMinio, type TestMinio } from '../helpers/minio';
import { startTestTemporal } from '../helpers/temporal';

const FP = '0123456789abcdef';
const LEGACY_OPEN = 'aaaaaaaaaaaaaaaa';
const LEGACY_CLOSED = 'bbbbbbbbbbbbbbbb';
const BUCKET = 'simclr-gc';
const NO_WORKER = 'gc-test-nobody-polls';
const TWO_HOURS_AGO = new Date(Date.now() - 2 * 60 * 60 * 1000);

let temporal: TestWorkflowEnvironment;
let minio: TestMinio;
let work: string;

const config = (source: string) =>
  parseExperiment({ name: 'gc', dataset: { source }, pretrain: { epochs: 2 } }, 'gc test');

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'simclr-gc-'));
  temporal = await startTestTemporal();
  minio = await startTestMinio();
  const { client } = temporal;
  // Open: an experiment and (the legacy layout) a pretrain loop whose views id is the bare fingerprint.
  await client.workflow.start('experiment', {
    taskQueue: NO_WORKER,
    workflowId: 'open-exp',
    args: [{ experimentId: 'open-exp', config: config('/data/local') }],
  });
  await client.workflow.start('pretrainLoop', {
    taskQueue: NO_WORKER,
    workflowId: 'legacy-exp/pretrain',
    args: [{ experimentId: 'legacy-exp', config: config('/data/local'), augmentationId: LEGACY_OPEN }],
  });
  // Closed: a terminated experiment.
  const closed = await client.workflow.start('experiment', {
    taskQueue: NO_WORKER,
    workflowId: 'closed-exp',
    args: [{ experimentId: 'closed-exp', config: config('/data/local') }],
  });
  await closed.terminate('the test closes it');
});

after(async () => {
  await minio?.stop();
  await temporal?.teardown();
  rmSync(work, { recursive: true, force: true });
});

const manifest = (step: number) =>
  JSON.stringify({ globalStep: step, config: { pretrain: { epochs: 3 }, stepsPerEpoch: 2 } });

/** Puts a checkpoint folder (committed unless `uncommitted`). */
async function checkpoint(store: BlobStore, id: string, step: number, uncommitted = false) {
  const key = `experiments/${id}/checkpoints/step-${String(step).padStart(8, '0')}`;
  await store.put(`${key}/encoder/weights.bin`, Buffer.alloc(1000, step));
  if (!uncommitted) await store.put(`${key}/MANIFEST.json`, manifest(step));
  await store.put(`experiments/${id}/checkpoints/LATEST`, key);
  return key;
}

/** The store of every test: open, closed and unknown runs' views and checkpoints. */
async function seed(store: BlobStore): Promise<void> {
  const view = (viewsId: string, epoch: number, shard: number) =>
    store.put(
      `augment/ds1/${viewsId}/epoch-${String(epoch).padStart(5, '0')}/shard-${String(shard).padStart(5, '0')}.bin`,
      Buffer.alloc(500),
    );
  await view(`${FP}.open-exp`, 1, 0);
  await view(`${FP}.closed-exp`, 1, 0);
  await view(`${FP}.closed-exp`, 1, 1);
  await view(`${FP}.gone-exp`, 2, 0);
  await view(LEGACY_OPEN, 0, 0);
  await view(LEGACY_CLOSED, 0, 0);
  // An open run keeps every checkpoint, whatever its policy says.
  for (const step of [1, 2, 3]) await checkpoint(store, 'open-exp', step);
  await store.put(
    'experiments/open-exp/checkpoints/RETENTION.json',
    JSON.stringify({ keepLast: 1, keepEveryEpochs: 0, epochs: 2, stepsPerEpoch: 2 }),
  );
  // Closed, with its policy: keep the last 2 and the final (step 8); 2 and 4 go.
  for (const step of [2, 4, 6, 8]) await checkpoint(store, 'closed-exp', step);
  await store.put(
    'experiments/closed-exp/checkpoints/RETENTION.json',
    JSON.stringify({ keepLast: 2, keepEveryEpochs: 0, epochs: 2, stepsPerEpoch: 4 }),
  );
  await store.put('experiments/closed-exp/report.json', '{}');
  // Unknown to Temporal, from before retention (no RETENTION.json): the defaults, epochs from the manifest.
  for (const step of [2, 4, 5, 6]) await checkpoint(store, 'gone-exp', step);
  await store.put('datasets/ds1/MANIFEST.json', '{}');
}

const keysOf = async (store: BlobStore) => (await store.list('')).map((o) => o.key);

/** The orphans both stores have, as gc names them. */
const STORE_ORPHANS = [
  `augment/ds1/${FP}.closed-exp/`,
  `augment/ds1/${FP}.gone-exp/`,
  `augment/ds1/${LEGACY_CLOSED}/`,
  'experiments/closed-exp/checkpoints/step-00000002/',
  'experiments/closed-exp/checkpoints/step-00000004/',
  'experiments/gone-exp/checkpoints/step-00000002/',
  'experiments/gone-exp/checkpoints/step-00000004/',
];

interface GcDoc {
  dryRun: boolean;
  orphans: { kind: string; location: string; bytes: number; reason: string }[];
  removed: number;
  totalBytes: number;
  kept: string[];
}

async function gc(home: string, store: string, env: NodeJS.ProcessEnv, ...flags: string[]): Promise<GcDoc> {
  const r = await runSimclr(['gc', '--json', '--store', store, ...flags], {
    home,
    env,
    address: temporal.address,
    timeoutMs: 120_000,
  });
  assert.equal(r.code, 0, r.stderr);
  return parseJsonOutput(r) as unknown as GcDoc;
}

test('gc on the filesystem store: the dry run lists exactly the orphans, gc removes exactly them', async () => {
  const home = join(work, 'fs-home');
  const root = join(work, 'fs-store');
  const store = new FsBlobStore(root);
  await seed(store);
  // An uncommitted folder of the closed run (a write cut short two hours ago) and interrupted writes.
  const cut = await checkpoint(store, 'closed-exp', 3, true);
  await store.put(
    'experiments/closed-exp/checkpoints/LATEST',
    'experiments/closed-exp/checkpoints/step-00000008',
  );
  utimesSync(join(root, cut, 'encoder', 'weights.bin'), TWO_HOURS_AGO, TWO_HOURS_AGO);
  const oldTemp = join(root, 'augment', 'ds1', '.blob-tmp-0123abcd');
  const youngTemp = join(root, 'experiments', 'open-exp', 'checkpoints', '.blob-tmp-4567ef01');
  writeFileSync(oldTemp, Buffer.alloc(300));
  utimesSync(oldTemp, TWO_HOURS_AGO, TWO_HOURS_AGO);
  writeFileSync(youngTemp, Buffer.alloc(300));
  // This machine's S3 source mirrors: an old complete one, an old interrupted one, a fresh one.
  const mirrors = join(home, 'cache', 'sources');
  for (const name of ['c0ffee0000000000', 'c0ffee0000000001.tmp-4242', 'c0ffee0000000002']) {
    mkdirSync(join(mirrors, name), { recursive: true });
    writeFileSync(join(mirrors, name, 'img.png'), Buffer.alloc(200));
    if (name !== 'c0ffee0000000002') {
      utimesSync(join(mirrors, name, 'img.png'), TWO_HOURS_AGO, TWO_HOURS_AGO);
      utimesSync(join(mirrors, name), TWO_HOURS_AGO, TWO_HOURS_AGO);
    }
  }
  const before = await keysOf(store);
  const expected = [
    ...STORE_ORPHANS,
    `${cut}/`,
    oldTemp,
    join(mirrors, 'c0ffee0000000000'),
    join(mirrors, 'c0ffee0000000001.tmp-4242'),
  ].sort();

  const dry = await gc(home, `file://${root}`, {}, '--dry-run');
  assert.equal(dry.dryRun, true);
  assert.deepEqual(dry.orphans.map((o) => o.location).sort(), expected);
  assert.equal(
    dry.totalBytes,
    dry.orphans.reduce((a, o) => a + o.bytes, 0),
  );
  assert.equal(dry.orphans.find((o) => o.location === `augment/ds1/${FP}.closed-exp/`)?.bytes, 1000);
  assert.ok(
    dry.kept.some((k) => k.includes('open-exp') && k.includes('legacy-exp')),
    dry.kept.join('\n'),
  );
  assert.deepEqual(await keysOf(store), before, 'a dry run removes nothing');
  // For people: a table with sizes and reasons, and the total.
  const human = await runSimclr(['gc', '--dry-run', '--store', `file://${root}`], {
    home,
    address: temporal.address,
    timeoutMs: 120_000,
  });
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /KIND +SIZE +WHAT +WHY/);
  assert.match(
    human.stdout,
    /views +1000 B +augment\/ds1\/0123456789abcdef\.closed-exp\/ +views of experiment closed-exp/,
  );
  assert.match(human.stdout, new RegExp(`would remove ${expected.length} item\\(s\\), [0-9.]+ KiB in total`));
  assert.match(human.stderr, /gc: listed \d+ objects/);

  const done = await gc(home, `file://${root}`, {});
  assert.equal(done.removed, expected.length);
  assert.deepEqual(done.orphans.map((o) => o.location).sort(), expected);
  const left = await keysOf(store);
  for (const o of STORE_ORPHANS) assert.ok(!left.some((k) => k.startsWith(o)), `${o} removed`);
  assert.deepEqual(
    left.filter((k) => !before.includes(k)),
    [],
    'gc wrote nothing',
  );
  // Everything of the open runs, the kept checkpoints, reports and datasets are still there.
  assert.deepEqual(
    before
      .filter((k) => !left.includes(k))
      .every((k) => STORE_ORPHANS.some((o) => k.startsWith(o)) || k.startsWith(cut)),
    true,
  );
  for (const k of [
    `augment/ds1/${FP}.open-exp/epoch-00001/shard-00000.bin`,
    `augment/ds1/${LEGACY_OPEN}/epoch-00000/shard-00000.bin`,
    'experiments/open-exp/checkpoints/step-00000001/MANIFEST.json',
    'experiments/closed-exp/checkpoints/step-00000006/MANIFEST.json',
    'experiments/closed-exp/checkpoints/step-00000008/MANIFEST.json',
    'experiments/closed-exp/report.json',
    'experiments/gone-exp/checkpoints/step-00000005/MANIFEST.json',
    'experiments/gone-exp/checkpoints/step-00000006/MANIFEST.json',
    'datasets/ds1/MANIFEST.json',
  ])
    assert.ok(left.includes(k), `${k} kept`);

  const again = await gc(home, `file://${root}`, {}, '--dry-run');
  assert.deepEqual(again.orphans, [], 'a second gc finds nothing');
});

test('gc on MinIO removes exactly the orphans; mirrors stay while an open run reads an s3:// source', async () => {
  const home = join(work, 'minio-home');
  const store = await MinioBlobStore.open(minio.storeOptions(BUCKET));
  await seed(store);
  const mirror = join(home, 'cache', 'sources', 'c0ffee0000000000');
  mkdirSync(mirror, { recursive: true });
  writeFileSync(join(mirror, 'img.png'), Buffer.alloc(200));
  utimesSync(mirror, TWO_HOURS_AGO, TWO_HOURS_AGO);
  utimesSync(join(mirror, 'img.png'), TWO_HOURS_AGO, TWO_HOURS_AGO);
  const s3Run = await temporal.client.workflow.start('experiment', {
    taskQueue: NO_WORKER,
    workflowId: 's3-exp',
    args: [{ experimentId: 's3-exp', config: config(`s3://${BUCKET}/images`) }],
  });
  try {
    const env = minio.env();
    const before = await keysOf(store);
    const dry = await gc(home, `s3://${BUCKET}`, env, '--dry-run');
    assert.deepEqual(dry.orphans.map((o) => o.location).sort(), [...STORE_ORPHANS].sort());
    assert.ok(dry.kept.some((k) => k.includes('source mirror') && k.includes(`s3://${BUCKET}/images`)));
    assert.deepEqual(await keysOf(store), before, 'a dry run removes nothing');

    const done = await gc(home, `s3://${BUCKET}`, env);
    assert.equal(done.removed, STORE_ORPHANS.length);
    const left = await keysOf(store);
    assert.deepEqual(
      before.filter((k) => !left.includes(k)).sort(),
      before.filter((k) => STORE_ORPHANS.some((o) => k.startsWith(o))).sort(),
      'exactly the orphans were removed',
    );
    assert.deepEqual((await gc(home, `s3://${BUCKET}`, env, '--dry-run')).orphans, []);
  } finally {
    await s3Run.terminate('test done');
  }
});

test('gc refuses to delete anything when Temporal cannot say which runs are open', async () => {
  const root = join(work, 'fs-store');
  const r = await runSimclr(['gc', '--json', '--store', `file://${root}`], {
    home: join(work, 'fs-home'),
    address: '127.0.0.1:1',
  });
  assert.equal(r.code, 1);
  assert.match(String(parseJsonOutput(r).error), /cannot reach Temporal/);
});
