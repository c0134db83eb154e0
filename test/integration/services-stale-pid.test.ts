/**
 * `simclr services` never signals a pid its service file names unless that pid is still the service it
 * recorded: a stale file naming a live unrelated process (here a real `sleep`, as after pid reuse or a
 * reboot) leaves that process alone and is removed; a file naming the recorded program is stopped.
 * The local MinIO's credentials file is private (0600).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../../infra/process';
import { processIdentity } from '../../infra/process-identity';
import { localMinioCredentials, servicesDown, servicesStatus } from '../../infra/services';

let home: string;
const savedHome = process.env.SIMCLR_HOME;
const children: ChildProcess[] = [];

before(() => {
  home = mkdtempSync(join(tmpdir(), 'simclr-stale-pid-'));
  process.env.SIMCLR_HOME = home;
});

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (savedHome === undefined) delete process.env.SIMCLR_HOME;
  else process.env.SIMCLR_HOME = savedHome;
  rmSync(home, { recursive: true, force: true });
});

function spawnSleep(program = 'sleep'): ChildProcess {
  const child = spawn(program, ['300'], { stdio: 'ignore' });
  children.push(child);
  assert.ok(child.pid, `spawned ${program}`);
  return child;
}

function writeServiceFile(name: 'temporal' | 'minio', record: Record<string, unknown>): string {
  const dir = join(home, 'services', name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'service.json');
  writeFileSync(
    file,
    JSON.stringify({ name, host: '127.0.0.1', ports: [1], urls: {}, startedAt: '', ...record }),
  );
  return file;
}

/** Waits until `child` has exited (reaped), or fails after `ms`. */
function exited(child: ChildProcess, ms = 30_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`pid ${child.pid} still running after ${ms} ms`)), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

test('a service file naming a live unrelated process: status and down leave it alone and remove the file', async () => {
  const sleeper = spawnSleep();
  const pid = sleeper.pid!;
  // An old-style file (no identity), and one whose identity is of another process start.
  const temporalFile = writeServiceFile('temporal', { pid });
  const minioFile = writeServiceFile('minio', {
    pid,
    identity: { startTicks: 1, bootId: 'another-boot' },
    program: '/usr/bin/sleep',
  });

  const status = await servicesStatus();
  assert.deepEqual(
    status.map((s) => s.state),
    ['stopped', 'stopped'],
  );
  assert.match(status[0].detail, /stale service file: pid \d+ is no longer temporal/);
  assert.ok(!existsSync(temporalFile) && !existsSync(minioFile), 'stale files removed by status');

  writeServiceFile('temporal', { pid });
  writeServiceFile('minio', { pid, identity: { startTicks: 1, bootId: 'another-boot' } });
  const lines: string[] = [];
  await servicesDown((l) => lines.push(l));
  assert.ok(isAlive(pid), 'the unrelated process was not signalled');
  assert.equal(sleeper.exitCode, null);
  assert.equal(sleeper.signalCode, null);
  assert.ok(!existsSync(temporalFile) && !existsSync(minioFile), 'stale files removed by down');
  assert.ok(
    lines.every((l) => /was not running \(removed a stale service file naming pid \d+\)/.test(l)),
    lines.join('\n'),
  );
});

test('a service file naming the process it recorded: down stops it', async () => {
  // A stand-in for the service binary: the program path and the identity match what was recorded.
  const program = join(home, 'temporal');
  copyFileSync('/bin/sleep', program);
  const service = spawnSleep(program);
  const file = writeServiceFile('temporal', {
    pid: service.pid,
    identity: processIdentity(service.pid!),
    program,
  });
  await servicesDown();
  await exited(service);
  assert.equal(service.signalCode, 'SIGTERM');
  assert.ok(!existsSync(file));
});

test('the local MinIO credentials are written whole with mode 0600', () => {
  const creds = localMinioCredentials();
  const file = join(home, 'services', 'minio', 'credentials.json');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(localMinioCredentials(), creds, 'read back, not regenerated');
});
