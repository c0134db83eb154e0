/**
 * infra/minio.ts against the real binary: start on a free or given port, health, stop, and the
 * errors a person sees when it cannot start.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startMinio } from '../../infra/minio';
import { freePort, isPortFree } from '../../infra/ports';
import { isAlive } from '../../infra/process';
import { MinioBlobStore } from '../../storage/minio-store';
import { withMinio } from '../helpers/minio';

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'simclr-minio-proc-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('startMinio', () => {
  it('serves S3 on the given port, keeps its data across a restart, and stops', async () => {
    const dir = tempDir();
    const port = await freePort();
    const opts = {
      dataDir: join(dir, 'data'),
      port,
      accessKey: 'simclr-test',
      secretKey: 'a-secret-of-some-length',
    };
    const first = await startMinio(opts);
    assert.equal(first.endpoint, `http://127.0.0.1:${port}`);
    assert.equal(first.logFile, `${join(dir, 'data')}.log`);
    const store = await MinioBlobStore.open({
      endpoint: first.endpoint,
      accessKey: opts.accessKey,
      secretKey: opts.secretKey,
      bucket: 'persist',
    });
    await store.put('k', 'survives restarts');
    await first.stop();
    assert.equal(isAlive(first.pid), false);
    assert.equal(await isPortFree(port), true);
    await first.stop(); // idempotent

    const second = await startMinio(opts);
    try {
      assert.equal((await store.get('k')).toString(), 'survives restarts');
    } finally {
      await second.stop();
    }
  });

  it('fails fast with the tail of its log when the port is taken', async () => {
    const port = await freePort();
    const blocker: Server = await new Promise((resolve) => {
      const s = createServer((conn) => conn.destroy()); // not MinIO: hang up on every request
      s.listen({ port, host: '127.0.0.1' }, () => resolve(s));
    });
    try {
      const dir = tempDir();
      await assert.rejects(
        startMinio({
          dataDir: join(dir, 'data'),
          port,
          accessKey: 'simclr-test',
          secretKey: 'a-secret-of-some-length',
        }),
        (err: Error) => {
          assert.match(err.message, /minio exited with code \d+ before becoming healthy/);
          assert.match(err.message, /port is already in use/i); // MinIO's own words, from its log
          return true;
        },
      );
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('refuses credentials MinIO would reject, before starting anything', async () => {
    const dataDir = join(tempDir(), 'data');
    await assert.rejects(
      startMinio({ dataDir, accessKey: 'ab', secretKey: 'long-enough' }),
      /accessKey must be at least 3/,
    );
    await assert.rejects(
      startMinio({ dataDir, accessKey: 'abc', secretKey: 'short' }),
      /secretKey must be at least 8/,
    );
  });

  it('kills a non-detached server when the process that started it exits', async () => {
    const dir = tempDir();
    const script = [
      `const { startMinio } = require(${JSON.stringify(join(__dirname, '../../infra/minio'))});`,
      `startMinio({ dataDir: ${JSON.stringify(join(dir, 'data'))}, accessKey: 'simclr-test', secretKey: 'a-secret-of-some-length' })`,
      `  .then((m) => { console.log(m.pid); process.exit(0); });`,
    ].join('\n');
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const pid = Number(out.trim().split('\n').pop());
    assert.ok(pid > 0, `no pid in ${JSON.stringify(out)}`);
    // SIGKILL was sent on exit; wait (bounded) for the kernel to reap the orphan.
    for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(isAlive(pid), false, `minio pid ${pid} outlived its parent`);
  });

  it('the test fixture removes its folder on stop', async () => {
    let dir = '';
    await withMinio(async (m) => {
      dir = m.dir;
      assert.equal(isAlive(m.pid), true);
    });
    const { existsSync } = await import('node:fs');
    assert.equal(existsSync(dir), false);
  });
});
