/**
 * A worker on the wrong store (issue 8, path 10): two real `simclr worker` processes against a real
 * dev server, one on another store than the experiment's. The misconfigured one fails its attempt at
 * once with a StoreMismatchError naming both stores, in the pending activity's failure (and so in
 * `simclr status`) and in its own log, instead of failing later on missing data; the failure is
 * retryable, so once it is stopped the worker on the right store takes the retry and the run goes on.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadExperimentFile } from '../../config/load';
import { openStore } from '../../storage/open';
import { storeIdentity, type StoreRef } from '../../storage/store-id';
import { experiment, progressQuery } from '../../workflows/experiment';
import { CPU_QUEUE } from '../../contracts';
import { ROOT, runSimclr } from '../helpers/cli';
import { withMinio } from '../helpers/minio';
import { MinioBlobStore } from '../../storage/minio-store';
import { startTestTemporal } from '../helpers/temporal';

let temporal: TestWorkflowEnvironment;
let home: string;
const workers: ChildProcess[] = [];

before(async () => {
  temporal = await startTestTemporal();
  home = mkdtempSync(join(tmpdir(), 'simclr-store-mismatch-'));
});

after(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  await temporal?.teardown();
  rmSync(home, { recursive: true, force: true });
});

/** `simclr worker --queue cpu` on `storeUri`, as a user starts it; its output collected. */
function startWorker(storeUri: string): { child: ChildProcess; output: () => string } {
  const env: NodeJS.ProcessEnv = { ...process.env, SIMCLR_HOME: home, SIMCLR_STORE: storeUri };
  for (const k of Object.keys(env)) if (k.startsWith('TEMPORAL_')) delete env[k];
  const child = spawn(
    process.execPath,
    ['bin/simclr', 'worker', '--queue', 'cpu', '--address', temporal.address],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  workers.push(child);
  let text = '';
  child.stdout!.on('data', (b: Buffer) => (text += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (text += b.toString()));
  return { child, output: () => text };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 240_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('a worker on another store fails plainly (retryable); the worker on the right store takes the retry', async () => {
  const right = `file://${join(home, 'store-right')}`;
  const wrong = `file://${join(home, 'store-wrong')}`;
  const expected: StoreRef = await storeIdentity(await openStore(right));
  const config = await loadExperimentFile(join(ROOT, 'test', 'fixtures', 'e2e-small.yaml'));
  const id = 'store-mismatch';
  const handle = await temporal.client.workflow.start(experiment, {
    workflowId: id,
    taskQueue: CPU_QUEUE,
    args: [{ experimentId: id, config, store: expected }],
  });

  const bad = startWorker(wrong);
  const failure = await until('the first attempt to fail on the wrong store', async () => {
    const d = await handle.describe();
    const p = d.raw.pendingActivities?.find((a) => a.lastFailure?.message);
    return p?.lastFailure ?? undefined;
  });
  bad.child.kill('SIGTERM'); // before it eats more attempts
  assert.equal(failure.applicationFailureInfo?.type, 'StoreMismatchError');
  assert.equal(failure.applicationFailureInfo?.nonRetryable ?? false, false, 'retryable');
  const message = failure.message ?? '';
  assert.match(message, new RegExp(`keeps its data in ${expected.location} \\(store id ${expected.id}\\)`));
  assert.match(message, /this worker uses the store file:\/\/.*store-wrong \(store id st-[0-9a-f]+\)/);
  await new Promise<void>((r) => (bad.child.exitCode !== null ? r() : bad.child.once('exit', () => r())));
  assert.match(bad.output(), /StoreMismatchError: inspectDataset: this worker uses the store/);

  // `simclr status` shows it too (the pending activity's last failure).
  const status = await runSimclr(['status', id, '--json'], { home, address: temporal.address });
  assert.match(status.stdout, /StoreMismatchError|this worker uses the store/, status.stdout + status.stderr);
  assert.ok(status.stdout.includes(expected.id), status.stdout);

  const good = startWorker(right);
  await until('the worker on the right store to get past dataset validation', async () => {
    const p = await handle.query(progressQuery).catch(() => undefined);
    return p && p.stage !== 'validate' ? p : undefined;
  });
  await handle.terminate('test done');
  good.child.kill('SIGTERM');
});

test('in MinIO the id belongs to the bucket: the same through any endpoint spelling, another for another bucket', async () => {
  await withMinio(async (minio) => {
    const first = await storeIdentity(await MinioBlobStore.open(minio.storeOptions('runs')));
    const port = new URL(minio.endpoint).port;
    const viaLocalhost = await MinioBlobStore.open({
      ...minio.storeOptions('runs'),
      endpoint: `http://localhost:${port}`,
    });
    assert.deepEqual(await storeIdentity(viaLocalhost), first);
    assert.equal(first.location, 's3://runs');
    const other = await storeIdentity(await MinioBlobStore.open(minio.storeOptions('other-runs')));
    assert.notEqual(other.id, first.id);
  });
});
