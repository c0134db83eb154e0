import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { freePort, isPortFree } from '../../infra/ports';

function listen(port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ port, host }, () => resolve(s));
  });
}

describe('ports', () => {
  it('freePort gives a port that isPortFree agrees with, and that can be bound', async () => {
    const port = await freePort();
    assert.ok(port > 0 && port < 65536);
    assert.equal(await isPortFree(port), true);
    const s = await listen(port, '127.0.0.1');
    s.close();
  });

  it('isPortFree is false while something listens there, on loopback or on all interfaces', async () => {
    for (const bindHost of ['127.0.0.1', '0.0.0.0']) {
      const port = await freePort();
      const s = await listen(port, bindHost);
      try {
        assert.equal(await isPortFree(port, '127.0.0.1'), false, `listener on ${bindHost}:${port}`);
      } finally {
        await new Promise((r) => s.close(r));
      }
      assert.equal(await isPortFree(port, '127.0.0.1'), true);
    }
  });
});
