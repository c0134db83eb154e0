/**
 * The Temporal connection settings from env (infra/temporal-connection.ts) and the CLI's hints after a
 * failed connection (cli/connect.ts), without a server. The TLS files and a real TLS endpoint are
 * tested in test/integration/temporal-tls.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { temporalTarget } from '../../infra/temporal-connection';
import { connectionHint, START_HINT } from '../../cli/connect';

test('the local dev server by default: no TLS, and the web UI is known', () => {
  const t = temporalTarget({}, {});
  assert.equal(t.address, '127.0.0.1:7233');
  assert.equal(t.namespace, 'default');
  assert.equal(t.connection.tls, undefined);
  assert.equal(t.local, true);
  assert.equal(connectionHint(t, 'Failed to connect before the deadline'), START_HINT);
});

test('an API key implies TLS with the system CAs and is sent as the connection apiKey', () => {
  const t = temporalTarget(
    {},
    { TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ns.acct', TEMPORAL_API_KEY: 'k.1' },
  );
  assert.deepEqual(t.connection, { address: 'ns.acct.tmprl.cloud:7233', tls: {}, apiKey: 'k.1' });
  assert.equal(t.namespace, 'ns.acct');
  assert.deepEqual(t.security, { tls: true, clientCert: false, apiKey: true });
  assert.match(
    connectionHint(t, '16 UNAUTHENTICATED: nope'),
    /check TEMPORAL_API_KEY .* namespace 'ns\.acct'/,
  );
});

test('TEMPORAL_TLS=true and a server name; a loopback address over TLS is not the local dev server', () => {
  const t = temporalTarget(
    { address: 'localhost:7443' },
    { TEMPORAL_TLS: 'true', TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' },
  );
  assert.deepEqual(t.connection.tls, { serverNameOverride: 'temporal.internal' });
  assert.equal(t.local, false);
  assert.match(connectionHint(t, 'x (TLS: wrong version number)'), /does not speak TLS/);
  assert.match(connectionHint(t, 'x (TLS: unable to verify the first certificate)'), /TEMPORAL_TLS_CA/);
  assert.match(
    connectionHint(t, 'x (TLS: tlsv13 alert certificate required)'),
    /TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY/,
  );
  assert.match(connectionHint(t, 'Failed to connect before the deadline'), /TLS is on/);
});

test('settings that contradict each other or cannot work are refused, naming the variable', () => {
  const cases: [NodeJS.ProcessEnv, { address?: string }, RegExp][] = [
    [
      { TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: '/x.pem' },
      {},
      /TEMPORAL_TLS=false contradicts TEMPORAL_TLS_CA/,
    ],
    [{ TEMPORAL_TLS: 'on' }, {}, /TEMPORAL_TLS must be 'true' or 'false', got 'on'/],
    [{ TEMPORAL_TLS_KEY: '/k.pem' }, {}, /TEMPORAL_TLS_KEY=\/k\.pem: ENOENT/],
    [{ TEMPORAL_API_KEY: 'a b' }, {}, /TEMPORAL_API_KEY holds a space/],
    [{}, { address: 'https://ns.tmprl.cloud:7233' }, /--address is HOST:PORT without a scheme/],
    [{ TEMPORAL_ADDRESS: 'http://h:7233' }, {}, /TEMPORAL_ADDRESS is HOST:PORT without a scheme/],
  ];
  for (const [env, flags, message] of cases) assert.throws(() => temporalTarget(flags, env), message);
});
