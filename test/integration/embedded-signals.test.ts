/**
 * `simclr run --embedded` and the local Temporal dev server it starts: a command stopped by SIGTERM
 * (while TensorFlow still loads, before its own handlers exist), by SIGINT (after the run started: the
 * workers drain first) or SIGHUP, or killed by SIGKILL (the watchdog) leaves no dev server behind; a
 * command that ends normally (--detach) keeps it running, as documented. Real processes throughout: the
 * CLI as a user starts it, the real `temporal` binary, real signals.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../infra/ports';
import { isSameProcess } from '../../infra/process-identity';
import type { ServiceRecord } from '../../infra/services';
import { ROOT } from '../helpers/cli';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'e2e-small.yaml');
const homes: string[] = [];
const clis: ChildProcess[] = [];

afterEach(async () => {
  for (const c of clis.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  // Whatever a failed test left: the dev server of that home, stopped through its own service file.
  for (const home of homes.splice(0)) {
    const rec = record(home);
    if (rec && isSameProcess(rec.pid, rec, 'temporal')) process.kill(rec.pid, 'SIGKILL');
    rmSync(home, { recursive: true, force: true });
  }
});

function record(home: string): ServiceRecord | undefined {
  try {
    return JSON.parse(
      readFileSync(join(home, 'services', 'temporal', 'service.json'), 'utf8'),
    ) as ServiceRecord;
  } catch {
    return undefined;
  }
}

interface Cli {
  child: ChildProcess;
  home: string;
  stderr: () => string;
  /** Resolves once stderr contains `text`. */
  saw(text: string, ms?: number): Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startCli(id: string, extra: string[] = []): Promise<Cli> {
  const home = mkdtempSync(join(tmpdir(), 'simclr-signals-'));
  homes.push(home);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SIMCLR_HOME: home,
    SIMCLR_TEMPORAL_PORT: String(await freePort()),
    SIMCLR_TEMPORAL_UI_PORT: String(await freePort()),
  };
  for (const k of Object.keys(env)) if (k.startsWith('TEMPORAL_') || k === 'SIMCLR_STORE') delete env[k];
  const child = spawn(process.execPath, ['bin/simclr', 'run', FIXTURE, '--embedded', '--id', id, ...extra], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  clis.push(child);
  let err = '';
  const waiters: (() => void)[] = [];
  child.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
    for (const w of waiters.splice(0)) w();
  });
  child.stdout!.resume();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  const saw = (text: string, ms = 240_000) =>
    new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(
        () => reject(new Error(`no '${text}' on stderr within ${ms} ms:\n${err}`)),
        ms,
      );
      const check = () => {
        if (err.includes(text)) {
          clearTimeout(deadline);
          resolve();
        } else if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(deadline);
          reject(new Error(`the command exited before '${text}':\n${err}`));
        } else waiters.push(check);
      };
      check();
    });
  return { child, home, stderr: () => err, saw, exit };
}

/** The dev server the command recorded, checked to be running now. */
function runningServer(home: string): ServiceRecord {
  const rec = record(home);
  assert.ok(rec, 'the command recorded the dev server it started');
  assert.ok(isSameProcess(rec.pid, rec, 'temporal'), `dev server pid ${rec.pid} is running`);
  return rec;
}

/** Resolves once `rec`'s process is gone; fails after `ms`. */
async function gone(rec: ServiceRecord, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (isSameProcess(rec.pid, rec, 'temporal')) {
    if (Date.now() > deadline)
      assert.fail(`the dev server (pid ${rec.pid}) outlived the command by ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('SIGTERM while the embedded workers start: the command exits and stops the dev server it started', async () => {
  const cli = await startCli('sig-term');
  await cli.saw('temporal: running at');
  const server = runningServer(cli.home);
  cli.child.kill('SIGTERM');
  const { code, signal } = await cli.exit;
  assert.ok(code === 143 || signal === 'SIGTERM', `exit ${code} / ${signal}`);
  await gone(server);
});

test('SIGINT after the run started: the workers drain, then the dev server is stopped', async () => {
  const cli = await startCli('sig-int');
  await cli.saw('started experiment sig-int');
  const server = runningServer(cli.home);
  cli.child.kill('SIGINT');
  const { code } = await cli.exit;
  assert.equal(code, 130, cli.stderr());
  assert.match(cli.stderr(), /with the local Temporal dev server this command started/);
  await gone(server);
});

test('SIGKILL: no handler runs, the watchdog stops the dev server', async () => {
  const cli = await startCli('sig-kill');
  await cli.saw('temporal: running at');
  const server = runningServer(cli.home);
  cli.child.kill('SIGKILL');
  await cli.exit;
  await gone(server);
});

test('a command that ends normally (--detach) keeps the dev server running', async () => {
  const cli = await startCli('sig-none', ['--detach']);
  const { code } = await cli.exit;
  assert.equal(code, 0, cli.stderr());
  const server = runningServer(cli.home);
  // Longer than the watchdog's poll: it was released, not merely slow.
  await new Promise((r) => setTimeout(r, 3_000));
  assert.ok(isSameProcess(server.pid, server, 'temporal'), 'still running after the command ended');
});
