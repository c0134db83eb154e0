/**
 * The real `simclr` command (node bin/simclr, a child process) against a real Temporal dev server.
 * A worker that serves only the workflows (no activities) keeps an experiment parked in its first stage,
 * which is enough to drive status, list, watch, cancel and resume for real; the end-to-end run with the
 * activities is tested elsewhere.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { experimentSchema } from '../../config/schema';
import { CPU_QUEUE, type ExperimentInput } from '../../contracts';
import { startTestTemporal } from '../helpers/temporal';
import { parseJsonOutput, runSimclr, type CliResult } from '../helpers/cli';

let env: TestWorkflowEnvironment;
let home: string;

function simclr(
  args: string[],
  opts: { address?: string | false; onStderr?: (soFar: string) => void } = {},
): Promise<CliResult> {
  return runSimclr(args, {
    home,
    address: opts.address === false ? undefined : (opts.address ?? env.address),
    onStderr: opts.onStderr,
  });
}

const json = parseJsonOutput;

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

before(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  home = mkdtempSync(join(tmpdir(), 'simclr-cli-'));
  env = await startTestTemporal();
});

after(async () => {
  await env?.teardown();
  rmSync(home, { recursive: true, force: true });
});

test('services status --json is one JSON document listing both services', async () => {
  const r = await simclr(['services', 'status', '--json'], { address: false });
  assert.equal(r.code, 0, r.stderr);
  const doc = json(r) as { services: { name: string; state: string }[] };
  assert.deepEqual(
    doc.services.map((s) => [s.name, s.state]),
    [
      ['temporal', 'stopped'],
      ['minio', 'stopped'],
    ],
  );
});

test('list --json is one JSON document', async () => {
  const r = await simclr(['list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Array.isArray(json(r).experiments));
});

test('status --json of an unknown id is {"error"} with a non-zero exit code', async () => {
  const r = await simclr(['status', 'no-such-experiment', '--json']);
  assert.notEqual(r.code, 0);
  const doc = json(r);
  assert.deepEqual(Object.keys(doc), ['error']);
  assert.match(String(doc.error), /no experiment with id 'no-such-experiment'/);
});

test('run of a bad experiment file exits 2 naming the file and the field, without a stack', async () => {
  const file = join(home, 'bad-experiment.yaml');
  writeFileSync(file, 'name: bad\ndataset:\n  source: /nonexistent\npretrain:\n  epochs: -3\n');
  const r = await simclr(['run', file]);
  assert.equal(r.code, 2, r.stderr);
  assert.ok(r.stderr.includes(file), r.stderr);
  assert.match(r.stderr, /pretrain\.epochs/);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  const j = await simclr(['run', file, '--json']);
  assert.equal(j.code, 2);
  const doc = json(j);
  assert.ok(
    String(doc.error).includes(file) && /pretrain\.epochs/.test(String(doc.error)),
    String(doc.error),
  );
});

test('services up with its port taken says so in one line and exits 1, without a stack', async () => {
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const port = (taken.address() as { port: number }).port;
  try {
    const r = await simclr(['services', 'up', '--temporal-port', String(port)], { address: false });
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /unexpected error/);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
    const j = await simclr(['services', 'up', '--temporal-port', String(port), '--json'], { address: false });
    assert.equal(j.code, 1);
    assert.match(String(json(j).error), /already in use/);
  } finally {
    await new Promise((r) => taken.close(r));
  }
});

test('an unreachable server is named, with the hint to start one', async () => {
  const address = `127.0.0.1:${await closedPort()}`;
  const r = await simclr(['list', '--json'], { address });
  assert.equal(r.code, 1);
  const doc = json(r);
  assert.ok(String(doc.error).includes(`cannot reach Temporal at ${address}`), String(doc.error));
  assert.match(String(doc.error), /simclr services up.*--embedded/);
});

test('status, list, watch, cancel and resume drive a real experiment workflow', async () => {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue: CPU_QUEUE,
    workflowsPath: require.resolve('../../workflows'),
  });
  await worker.runUntil(async () => {
    const id = 'cli-test-20250101-000000';
    const config = experimentSchema.parse({
      name: 'cli-test',
      dataset: { source: '/nonexistent' },
      pretrain: { epochs: 3 },
    });
    const first = await env.client.workflow.start('experiment', {
      workflowId: id,
      taskQueue: CPU_QUEUE,
      args: [{ experimentId: id, config }],
    });

    const status = json(await simclr(['status', id, '--json'])) as {
      status: string;
      stage: string;
      progress: { stages: { stage: string }[]; epochs: number };
      pendingActivities: { activity: string }[];
    };
    assert.equal(status.status, 'RUNNING');
    assert.equal(status.stage, 'validate');
    assert.equal(status.progress.epochs, 3);
    assert.deepEqual(
      status.progress.stages.map((s) => s.stage),
      ['validate'],
    );
    assert.ok(status.pendingActivities.some((a) => a.activity === 'inspectDataset'));
    const human = await simclr(['status', id]);
    assert.match(human.stdout, /▸ validate +inspectDataset \(queued\)/, human.stdout);

    const list = json(await simclr(['list', '--json'])) as {
      experiments: { id: string; status: string; stage: string }[];
    };
    assert.deepEqual(
      list.experiments.filter((e) => e.id === id).map((e) => [e.status, e.stage]),
      [['RUNNING', 'validate']],
    );
    // Filters are visibility queries: the run is found by its stage, status and start, not by others.
    const ids = async (...filters: string[]) => {
      const r = await simclr(['list', ...filters, '--json']);
      assert.equal(r.code, 0, r.stderr);
      return (json(r) as { experiments: { id: string }[] }).experiments.map((e) => e.id);
    };
    assert.ok((await ids('--stage', 'validate', '--status', 'running', '--since', '1h')).includes(id));
    assert.ok(!(await ids('--stage', 'pretrain')).includes(id));
    assert.ok(!(await ids('--schedule', 'nightly')).includes(id));
    assert.ok(!(await ids('--status', 'completed')).includes(id));
    const bad = await simclr(['list', '--stage', 'training']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--stage training: expected one of/);

    let viewStarted!: () => void;
    const started = new Promise<void>((r) => (viewStarted = r));
    const watching = simclr(['watch', id, '--json'], {
      onStderr: (err) => /▸ validate/.test(err) && viewStarted(),
    });
    await Promise.race([started, watching]);
    const cancel = await simclr(['cancel', id, '--json']);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.equal(json(cancel).cancellationRequested, true);
    const watched = await watching;
    assert.equal(watched.code, 1, 'a cancelled run is not a success');
    const end = json(watched);
    assert.equal(end.status, 'CANCELLED');
    assert.match(String(end.error), /cancelled/);
    assert.match(watched.stderr, /▸ validate/, 'the live view goes to stderr as plain lines');
    assert.match(watched.stderr, /✗ validate stopped after/);

    const again = await simclr(['cancel', id, '--json']);
    assert.equal(again.code, 1);
    assert.match(String(json(again).error), /not running \(it is cancelled\)/);

    const resumed = await simclr(['resume', id, '--detach', '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const doc = json(resumed);
    assert.equal(doc.status, 'RUNNING');
    assert.notEqual(doc.runId, first.firstExecutionRunId);
    const history = await env.client.workflow.getHandle(id, String(doc.runId)).fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const input = defaultPayloadConverter.fromPayload<ExperimentInput>(payload as Payload);
    assert.equal(input.resume, true);
    assert.deepEqual(input.config, config, 'the same config as the cancelled run');

    const busy = await simclr(['resume', id, '--json']);
    assert.equal(busy.code, 1);
    assert.match(String(json(busy).error), /still running/);
    const deduped = json(await simclr(['list', '--json'])) as {
      experiments: { id: string; runId: string }[];
    };
    assert.deepEqual(
      deduped.experiments.filter((e) => e.id === id).map((e) => e.runId),
      [doc.runId],
      'one row per experiment: its latest run',
    );
    await env.client.workflow.getHandle(id).terminate('test done');
  });
});

test('run --id refuses an id in use: a running experiment (watch/cancel), then a terminated one (resume)', async () => {
  const id = 'cli-taken-id';
  const file = join(__dirname, '..', 'fixtures', 'e2e-small.yaml');
  const config = experimentSchema.parse({ name: 'cli-taken', dataset: { source: '/nonexistent' } });
  // No worker: the run stays RUNNING in its first stage.
  const first = await env.client.workflow.start('experiment', {
    workflowId: id,
    taskQueue: CPU_QUEUE,
    args: [{ experimentId: id, config }],
  });

  const running = await simclr(['run', file, '--id', id, '--detach', '--json']);
  assert.equal(running.code, 1, running.stderr);
  assert.match(
    String(json(running).error),
    new RegExp(`experiment '${id}' is running.*simclr watch ${id}.*simclr cancel ${id}.*another id`),
  );

  await env.client.workflow.getHandle(id).terminate('the worker went away');
  const closed = await simclr(['run', file, '--id', id, '--detach', '--json']);
  assert.equal(closed.code, 1, closed.stderr);
  assert.match(
    String(json(closed).error),
    new RegExp(`experiment '${id}' already ran and is terminated .*simclr resume ${id}.*another id`),
  );
  const d = await env.client.workflow.getHandle(id).describe();
  assert.equal(d.runId, first.firstExecutionRunId, 'no new run was started');
  assert.equal(d.status.name, 'TERMINATED');
});

test('run --embedded names the other open experiments its workers will also run', async () => {
  const zombie = 'cli-left-open';
  const config = experimentSchema.parse({ name: 'cli-left-open', dataset: { source: '/nonexistent' } });
  // An experiment an earlier command left open (no worker yet): the embedded workers will pick it up.
  await env.client.workflow.start('experiment', {
    workflowId: zombie,
    taskQueue: CPU_QUEUE,
    args: [{ experimentId: zombie, config }],
  });
  for (let i = 0; i < 50; i++) {
    const listed = env.client.workflow.list({ query: `WorkflowId = '${zombie}'` });
    let seen = false;
    for await (const wf of listed) seen ||= wf.status.name === 'RUNNING';
    if (seen) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const file = join(home, 'missing-source.yaml');
  writeFileSync(file, 'name: cli-other\ndataset:\n  source: /nonexistent/images\n');
  const r = await simclr(['run', file, '--id', 'cli-other', '--embedded', '--json']);
  assert.match(
    r.stderr,
    new RegExp(`also open in this Temporal, so also run by these workers.*${zombie}.*simclr cancel`),
    r.stderr,
  );
  assert.doesNotMatch(r.stderr, /also open[^\n]*cli-other/, 'the run itself is not listed');
  await env.client.workflow
    .getHandle(zombie)
    .terminate('test done')
    .catch(() => undefined);
});
