/**
 * No credential reaches the workflow history, the worker log or the CLI's output, whatever path the
 * error takes: a worker whose SIMCLR_STORE is a malformed URI with credentials in it
 * (`s3://key:secret@bucket`) fails the experiment's first activity, and the real history fetched from
 * a real dev server, the worker's log file and the failure all name the problem without the secret;
 * an experiment file with credentials in dataset.source is refused before anything is started.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { installWorkerRuntime } from '../../cli/worker-runtime';
import { loadExperimentFile } from '../../config/load';
import { temporalTarget } from '../../infra/temporal-connection';
import { startWorkers, type WorkersHandle } from '../../workers/run-workers';
import { experiment } from '../../workflows/experiment';
import { CPU_QUEUE } from '../../contracts';
import { ROOT, runSimclr } from '../helpers/cli';
import { startTestTemporal } from '../helpers/temporal';

const ACCESS_KEY = 'AKIAQUITESECRETKEY';
const SECRET = 'Sup3r/Secret+Value9';

let temporal: TestWorkflowEnvironment;
let workers: WorkersHandle | undefined;
let dir: string;
let logFile: string;
const savedEnv = { ...process.env };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'simclr-secrets-'));
  logFile = join(dir, 'worker.log');
  installWorkerRuntime({ logFile });
  temporal = await startTestTemporal();
});

after(async () => {
  await workers?.shutdown();
  await temporal?.teardown();
  process.env = savedEnv;
  rmSync(dir, { recursive: true, force: true });
});

function assertNoSecret(text: string, where: string): void {
  assert.ok(!text.includes(SECRET), `the secret key appears in ${where}`);
  assert.ok(!text.includes(ACCESS_KEY), `the access key appears in ${where}`);
}

test('a malformed store URI with credentials: the failure names it, redacted, in history, log and error', async () => {
  process.env.SIMCLR_HOME = dir;
  process.env.SIMCLR_STORE = `s3://${ACCESS_KEY}:${SECRET}@simclr`;
  workers = await startWorkers({ queues: ['cpu'], target: temporalTarget({ address: temporal.address }) });
  const config = await loadExperimentFile(join(ROOT, 'test', 'fixtures', 'e2e-small.yaml'));
  const id = 'secrets-malformed-store';
  const handle = await temporal.client.workflow.start(experiment, {
    workflowId: id,
    taskQueue: CPU_QUEUE,
    args: [{ experimentId: id, config }],
  });
  // The store cannot be opened on any attempt: the activity runs out of retries and the run fails.
  const err = await handle.result().then(
    () => assert.fail('the experiment completed on a store it cannot open'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, String(err));
  let message = '';
  for (let e: unknown = err; e instanceof Error; e = e.cause) message += `${e.message}\n${e.stack ?? ''}\n`;
  assert.match(message, /invalid store URI 's3:\/\/<redacted>@simclr'/);
  assertNoSecret(message, 'the workflow failure');

  const history = JSON.stringify(await handle.fetchHistory());
  assert.match(history, /invalid store URI/, 'the failure is in the history');
  assertNoSecret(history, 'the workflow history');

  const log = readFileSync(logFile, 'utf8');
  assert.match(log, /Activity failed/);
  assert.match(log, /<redacted>/);
  assertNoSecret(log, 'the worker log');
});

test('an experiment file with credentials in dataset.source is refused, without echoing them', async () => {
  const file = join(dir, 'with-credentials.yaml');
  writeFileSync(
    file,
    `name: creds\ndataset:\n  source: s3://${ACCESS_KEY}:${SECRET}@bucket/images\nmodel:\n  encoder: resnet-mini\n`,
  );
  const r = await runSimclr(['run', file, '--json'], { home: dir, address: '127.0.0.1:1' });
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stdout, /dataset\.source.*credentials in the URI/);
  assertNoSecret(r.stdout + r.stderr, 'the CLI output');
});
