/**
 * `simclr worker` as the container images start it: the workflows from a bundle built ahead of time
 * (SIMCLR_WORKFLOW_BUNDLE, written by infra/build-workflow-bundle.ts, the image's build step) and the
 * health endpoint on (SIMCLR_HEALTH_PORT), probed by the image's HEALTHCHECK command
 * (infra/docker/healthcheck.mjs). Real processes: a Temporal dev server, the CLI worker, the probe.
 * A whole experiment on prebuilt-bundle workers, and their drain on SIGTERM, run in the fault suite
 * (test/faults/lab.ts starts every worker that way).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { freePort } from '../../infra/ports';
import { ROOT } from '../helpers/cli';
import { startTestTemporal } from '../helpers/temporal';

let temporal: TestWorkflowEnvironment;
let dir: string;
let bundle: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'simclr-worker-health-'));
  bundle = join(dir, 'workflow-bundle.js');
  // The Dockerfile's build step, verbatim.
  const built = spawnSync(process.execPath, ['--import', 'tsx', 'infra/build-workflow-bundle.ts', bundle], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(built.status, 0, built.stderr);
  assert.match(built.stdout, /workflow bundle: .* MB/);
  temporal = await startTestTemporal();
});

after(async () => {
  await temporal?.teardown();
  rmSync(dir, { recursive: true, force: true });
});

interface Started {
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill: (signal: NodeJS.Signals) => void;
}

function startWorker(env: NodeJS.ProcessEnv, queue = 'cpu'): Started {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, SIMCLR_HOME: join(dir, 'home'), ...env };
  for (const k of Object.keys(childEnv)) if (k.startsWith('TEMPORAL_')) delete childEnv[k];
  const child = spawn(
    process.execPath,
    ['bin/simclr', 'worker', '--queue', queue, '--address', temporal.address],
    { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  return { output: () => out, exit, kill: (s) => child.kill(s) };
}

async function until(what: string, cond: () => boolean, w: Started, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  let exited = false;
  void w.exit.then(() => (exited = true));
  while (!cond()) {
    if (exited) assert.fail(`the worker exited before ${what}:\n${w.output()}`);
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}:\n${w.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The image's HEALTHCHECK command, run as Docker runs it. */
function probe(port: number, path?: string): { status: number | null; stdout: string } {
  const r = spawnSync(process.execPath, ['infra/docker/healthcheck.mjs', ...(path ? [path] : [])], {
    cwd: ROOT,
    env: { ...process.env, SIMCLR_HEALTH_PORT: String(port) },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: `${r.stdout}${r.stderr}` };
}

test('a worker on a prebuilt bundle answers /healthz and /readyz, and the HEALTHCHECK command passes', async () => {
  const port = await freePort();
  assert.equal(probe(port).status, 1, 'the probe fails while nothing listens');
  const w = startWorker({ SIMCLR_WORKFLOW_BUNDLE: bundle, SIMCLR_HEALTH_PORT: String(port) });
  try {
    await until('the worker polls', () => /worker: connected/.test(w.output()), w);
    assert.match(w.output(), new RegExp(`serving workflows \\(prebuilt bundle ${bundle}\\)`));
    assert.match(w.output(), new RegExp(`health on :${port}`));

    for (const path of ['/healthz', '/readyz']) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      assert.equal(res.status, 200, path);
      assert.deepEqual(await res.json(), {
        status: 'ok',
        workers: [{ taskQueue: 'simclr-cpu', state: 'RUNNING' }],
      });
    }
    assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
    const p = probe(port);
    assert.equal(p.status, 0, p.stdout);
    assert.match(p.stdout, /^200 \{"status":"ok"/);
  } finally {
    w.kill('SIGTERM');
  }
  const { code } = await w.exit;
  assert.equal(code, 0, w.output());
  assert.match(w.output(), /SIGTERM: draining[\s\S]*worker: stopped/);
  assert.equal(probe(port).status, 1, 'the endpoint closes with the worker');
});

test('a prebuilt bundle that is missing or not a bundle stops the worker at start, naming it', async () => {
  const missing = startWorker({ SIMCLR_WORKFLOW_BUNDLE: join(dir, 'nope.js') });
  const m = await missing.exit;
  assert.notEqual(m.code, 0);
  assert.match(
    missing.output(),
    /SIMCLR_WORKFLOW_BUNDLE=.*nope\.js: cannot read the prebuilt workflow bundle \(ENOENT\)/,
  );

  // The file is what the worker runs: a file that is not a bundle fails it (no silent re-bundling).
  const garbage = join(dir, 'garbage.js');
  writeFileSync(garbage, 'this is not a workflow bundle');
  const bad = startWorker({ SIMCLR_WORKFLOW_BUNDLE: garbage });
  const b = await bad.exit;
  assert.notEqual(b.code, 0, bad.output());
  assert.doesNotMatch(bad.output(), /worker: connected/);
});

test('a bad SIMCLR_HEALTH_PORT is a usage error naming the variable', async () => {
  const w = startWorker({ SIMCLR_HEALTH_PORT: 'http' });
  const { code } = await w.exit;
  assert.equal(code, 2, w.output());
  assert.match(w.output(), /SIMCLR_HEALTH_PORT=http: expected a TCP port number from 1 to 65535/);
});
