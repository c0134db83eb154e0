import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestTemporal } from '../helpers/temporal';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

test('a real Temporal dev server starts with the project search attributes registered', async () => {
  const env = await startTestTemporal();
  try {
    const res = await env.connection.operatorService.listSearchAttributes({
      namespace: env.namespace ?? 'default',
    });
    for (const key of ALL_SEARCH_ATTRIBUTES) {
      assert.ok(
        res.customAttributes && key.name in res.customAttributes,
        `search attribute ${key.name} is registered`,
      );
    }
    const sys = await env.connection.workflowService.getSystemInfo({});
    assert.ok(sys.serverVersion, 'server answers getSystemInfo');
  } finally {
    await env.teardown();
  }
});
