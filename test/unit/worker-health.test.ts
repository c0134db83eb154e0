/**
 * workers/health.ts: the status the probes see for each combination of worker states (a draining worker
 * is alive but not ready; a failed or stopped one is neither), the port setting, and the endpoint
 * itself over HTTP. test/integration/worker-health.test.ts runs it inside a real `simclr worker`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkerState } from '../../workers/run-workers';
import { healthPortFrom, healthStatus, startHealthServer } from '../../workers/health';

const w = (state: WorkerState['state'], taskQueue = 'simclr-cpu'): WorkerState => ({ taskQueue, state });

test('status: ok while every worker runs, draining while one drains, failed once one failed or stopped', () => {
  assert.equal(healthStatus([w('RUNNING'), w('RUNNING', 'simclr-gpu')]), 'ok');
  assert.equal(healthStatus([w('RUNNING'), w('DRAINING', 'simclr-gpu')]), 'draining');
  assert.equal(healthStatus([w('STOPPING')]), 'draining');
  assert.equal(healthStatus([w('RUNNING'), w('FAILED', 'simclr-gpu')]), 'failed');
  assert.equal(healthStatus([w('STOPPED')]), 'failed');
  assert.equal(healthStatus([]), 'failed');
});

test('SIMCLR_HEALTH_PORT: unset is off, a port number is taken, anything else names the variable', () => {
  assert.equal(healthPortFrom({}), undefined);
  assert.equal(healthPortFrom({ SIMCLR_HEALTH_PORT: '' }), undefined);
  assert.equal(healthPortFrom({ SIMCLR_HEALTH_PORT: '8080' }), 8080);
  for (const bad of ['0', '65536', '80.5', 'http'])
    assert.throws(
      () => healthPortFrom({ SIMCLR_HEALTH_PORT: bad }),
      /SIMCLR_HEALTH_PORT=.*: expected a TCP port/,
    );
});

test('the endpoint: /healthz stays 200 during a drain, /readyz turns 503; both 503 once a worker failed', async () => {
  let states = [w('RUNNING'), w('RUNNING', 'simclr-gpu')];
  const server = await startHealthServer(0, () => states);
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${server.port}${path}`);
    return { status: res.status, body: (await res.json()) as { status: string } };
  };
  try {
    assert.deepEqual(
      [(await get('/healthz')).status, (await get('/readyz')).status, (await get('/readyz')).body.status],
      [200, 200, 'ok'],
    );
    states = [w('RUNNING'), w('DRAINING', 'simclr-gpu')];
    assert.deepEqual(
      [(await get('/healthz')).status, (await get('/readyz')).status, (await get('/healthz')).body.status],
      [200, 503, 'draining'],
    );
    states = [w('RUNNING'), w('FAILED', 'simclr-gpu')];
    assert.deepEqual([(await get('/healthz')).status, (await get('/readyz')).status], [503, 503]);
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/metrics`)).status, 404);
  } finally {
    await server.close();
  }
});
