/**
 * Temporal over TLS, as against a TLS cluster or Temporal Cloud: the CLI (grpc-js) and the workers
 * (`simclr worker`, the Rust core's NativeConnection) reach a real Temporal dev server through a real
 * TLS terminator (test/helpers/grpc-tls-proxy.ts; the dev server has no TLS of its own) with
 * certificates made at test time by openssl. One endpoint requires a client certificate (mTLS), the
 * other an API key as `authorization: Bearer <key>` (Temporal Cloud's scheme). Checked: the right
 * settings work (`list`, `schedule`, and a whole experiment served by a worker of each kind), and a missing client certificate, a certificate from another CA, a wrong server CA, a
 * wrong or missing API key and TLS against a plaintext server each fail with a message that says so.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parseJsonOutput, ROOT, runSimclr } from '../helpers/cli';
import { startTestTemporal } from '../helpers/temporal';
import { makeTestPki, type TestPki } from '../helpers/tls-pki';
import { startGrpcTlsProxy, type GrpcTlsProxy } from '../helpers/grpc-tls-proxy';
import { spawnWorker, type WorkerProcess } from '../faults/lab';

const API_KEY = 'tls-test-key.Zk4-not-a-secret';
const WORKFLOW_SERVICE = '/temporal.api.workflowservice.v1.WorkflowService/';

let temporal: TestWorkflowEnvironment;
let dir: string;
let pki: TestPki;
let mtls: GrpcTlsProxy;
let keyed: GrpcTlsProxy;
const workers: WorkerProcess[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'simclr-tls-'));
  pki = makeTestPki(dir);
  temporal = await startTestTemporal();
  const server = { upstream: temporal.address, cert: pki.serverCert, key: pki.serverKey };
  mtls = await startGrpcTlsProxy({ ...server, clientCa: pki.caCert });
  keyed = await startGrpcTlsProxy({ ...server, apiKey: API_KEY });
});

after(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await mtls?.close();
  await keyed?.close();
  await temporal?.teardown();
  rmSync(dir, { recursive: true, force: true });
});

/** `simclr <args> --json` against `address` with the given Temporal env, on the test's home. */
const simclr = async (args: string[], address: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000) => {
  const r = await runSimclr([...args, '--json'], { home: join(dir, 'home'), address, env, timeoutMs });
  // An error is the JSON document's `error` (stdout); notes and warnings go to stderr.
  let error = r.stdout;
  try {
    error = (JSON.parse(r.stdout) as { error?: string }).error ?? r.stdout;
  } catch {
    // not one JSON document: keep stdout as it is
  }
  return { ...r, text: `${error}\n${r.stderr}` };
};

const mtlsEnv = () => ({
  TEMPORAL_TLS_CA: pki.caCert,
  TEMPORAL_TLS_CERT: pki.clientCert,
  TEMPORAL_TLS_KEY: pki.clientKey,
});

test('mTLS: the CLI lists runs through the TLS endpoint with the client certificate, key and CA', async () => {
  const before = mtls.calls.length;
  const r = await simclr(['list'], mtls.address, mtlsEnv());
  assert.equal(r.code, 0, r.text);
  parseJsonOutput(r);
  const calls = mtls.calls.slice(before);
  assert.ok(
    calls.some((c) => c.method === `${WORKFLOW_SERVICE}ListWorkflowExecutions`),
    JSON.stringify(calls),
  );
  assert.ok(calls.every((c) => c.clientCn === 'simclr-test-client'));
  // By name too (the certificate is for localhost and 127.0.0.1).
  const byName = await simclr(['list'], `localhost:${mtls.port}`, mtlsEnv());
  assert.equal(byName.code, 0, byName.text);
});

test('mTLS: without a client certificate, or with one from another CA, the server refuses the handshake', async () => {
  const cases: [NodeJS.ProcessEnv, RegExp][] = [
    [
      { TEMPORAL_TLS_CA: pki.caCert },
      /\(TLS: tlsv13 alert certificate required\)\n {2}hint: the server requires a client certificate \(mTLS\): set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY/,
    ],
    [
      {
        TEMPORAL_TLS_CA: pki.caCert,
        TEMPORAL_TLS_CERT: pki.otherClientCert,
        TEMPORAL_TLS_KEY: pki.otherClientKey,
      },
      /hint: the server did not accept the client certificate TEMPORAL_TLS_CERT/,
    ],
  ];
  for (const [env, diagnosis] of cases) {
    const handshakes = mtls.handshakeErrors.length;
    const r = await simclr(['list'], mtls.address, env);
    assert.equal(r.code, 1, r.text);
    assert.match(r.text, new RegExp(`cannot reach Temporal at ${mtls.address}: `));
    assert.match(r.text, diagnosis);
    assert.ok(mtls.handshakeErrors.length > handshakes, 'the proxy saw the refused handshake');
  }
});

test('a server certificate that the given CA did not sign fails verification, and says so', async () => {
  const r = await simclr(['list'], mtls.address, { ...mtlsEnv(), TEMPORAL_TLS_CA: pki.otherCaCert });
  assert.equal(r.code, 1, r.text);
  assert.match(r.text, /\(TLS: self-signed certificate in certificate chain\)/);
  assert.match(r.text, /hint: the server's certificate is not signed by the CA in TEMPORAL_TLS_CA/);
});

test('TLS against a plaintext server fails with a message about TLS', async () => {
  const r = await simclr(['list'], temporal.address, { TEMPORAL_TLS: 'true' });
  assert.equal(r.code, 1, r.text);
  assert.match(r.text, /\(TLS: wrong version number\)/);
  assert.match(r.text, /hint: the server at this address does not speak TLS/);
});

test('API key: it reaches the server as `authorization: Bearer <key>`; a wrong or missing key is refused', async () => {
  const before = keyed.calls.length;
  const keyEnv = { TEMPORAL_TLS_CA: pki.caCert, TEMPORAL_API_KEY: API_KEY };
  const ok = await simclr(['list'], keyed.address, keyEnv);
  assert.equal(ok.code, 0, ok.text);
  assert.ok(!ok.text.includes(API_KEY), 'the key is never printed');
  // Schedules go through the same connection (the schedule service, with the key).
  const fixture = join(ROOT, 'test', 'fixtures', 'tls-tiny.yaml');
  for (const args of [
    ['schedule', 'create', 'tls-nightly', '--config', fixture, '--every', '24h', '--paused'],
    ['schedule', 'list'],
    ['schedule', 'delete', 'tls-nightly'],
  ]) {
    const r = await simclr(args, keyed.address, keyEnv);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.text}`);
    if (args[1] === 'list') assert.match(r.stdout, /tls-nightly/);
  }
  const calls = keyed.calls.slice(before);
  assert.ok(calls.some((c) => c.method.endsWith('/CreateSchedule')));
  assert.ok(calls.every((c) => c.authorization === `Bearer ${API_KEY}` && c.forwarded));

  for (const env of [
    { TEMPORAL_TLS_CA: pki.caCert, TEMPORAL_API_KEY: 'wrong-key' },
    { TEMPORAL_TLS_CA: pki.caCert },
  ]) {
    const r = await simclr(['list'], keyed.address, env);
    assert.equal(r.code, 1, r.text);
    assert.match(r.text, /refused the credentials|UNAUTHENTICATED/i);
    assert.match(r.text, /TEMPORAL_API_KEY/);
    assert.ok(!r.text.includes('wrong-key'), 'the key is never printed');
  }
});

test('bad TLS settings are usage errors that name the variable and the file', async () => {
  const cases: [NodeJS.ProcessEnv, RegExp][] = [
    [{ TEMPORAL_TLS_CERT: pki.clientCert }, /TEMPORAL_TLS_CERT is set but TEMPORAL_TLS_KEY is not/],
    [
      { TEMPORAL_TLS_CERT: pki.clientCert, TEMPORAL_TLS_KEY: join(dir, 'nope.key') },
      /TEMPORAL_TLS_KEY=.*nope\.key.*ENOENT/,
    ],
    [
      { TEMPORAL_TLS_CERT: pki.clientCert, TEMPORAL_TLS_KEY: pki.otherClientKey },
      /TEMPORAL_TLS_KEY=.* is not the private key of TEMPORAL_TLS_CERT=/,
    ],
    [{ TEMPORAL_TLS_CA: pki.clientKey }, /TEMPORAL_TLS_CA=.* is not a PEM certificate/],
    [{ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: API_KEY }, /TEMPORAL_TLS=false with TEMPORAL_API_KEY/],
    [{ TEMPORAL_TLS: 'yes' }, /TEMPORAL_TLS must be 'true' or 'false', got 'yes'/],
    [{ TEMPORAL_API_KEY: `${API_KEY}\n` }, /TEMPORAL_API_KEY holds a space, a control character/],
    [{ TEMPORAL_TLS_CA: join(dir, 'missing-ca.pem') }, /TEMPORAL_TLS_CA=.*missing-ca\.pem: ENOENT/],
  ];
  for (const [env, message] of cases) {
    const r = await simclr(['list'], mtls.address, env);
    assert.equal(r.code, 2, `${JSON.stringify(env)}: ${r.text}`);
    assert.match(r.text, message);
    assert.ok(!r.text.includes(API_KEY));
  }
});

test('workers over TLS: a cpu worker with mTLS and a gpu worker with an API key serve a whole experiment', async () => {
  const home = join(dir, 'home');
  const workerEnv = (env: Record<string, string>) => ({ SIMCLR_HOME: home, ...env });
  const mtlsBefore = mtls.calls.length;
  const keyedBefore = keyed.calls.length;
  workers.push(
    await spawnWorker('cpu', join(dir, 'worker-cpu.log'), {
      address: mtls.address,
      env: workerEnv(mtlsEnv()),
    }),
    await spawnWorker('gpu', join(dir, 'worker-gpu.log'), {
      address: `localhost:${keyed.port}`,
      env: workerEnv({ TEMPORAL_TLS_CA: pki.caCert, TEMPORAL_API_KEY: API_KEY }),
    }),
  );
  const r = await simclr(
    ['run', join(ROOT, 'test', 'fixtures', 'tls-tiny.yaml'), '--id', 'tls-tiny'],
    mtls.address,
    mtlsEnv(),
    600_000,
  );
  assert.equal(r.code, 0, `${r.stderr}\ncpu worker:\n${workers[0].log()}\ngpu worker:\n${workers[1].log()}`);
  assert.equal((parseJsonOutput(r) as { status: string }).status, 'COMPLETED');

  // The workflows and the data activities went through the mTLS endpoint, with the client certificate...
  const viaMtls = mtls.calls.slice(mtlsBefore);
  for (const method of [
    'PollWorkflowTaskQueue',
    'RespondWorkflowTaskCompleted',
    'PollActivityTaskQueue',
    'RespondActivityTaskCompleted',
  ])
    assert.ok(
      viaMtls.some((c) => c.method === WORKFLOW_SERVICE + method),
      `mTLS endpoint saw no ${method}`,
    );
  assert.ok(viaMtls.every((c) => c.clientCn === 'simclr-test-client'));
  // ...and the training activities through the API-key endpoint, every call with the bearer header.
  const viaKey = keyed.calls.slice(keyedBefore);
  for (const method of [
    'PollActivityTaskQueue',
    'RespondActivityTaskCompleted',
    'RecordActivityTaskHeartbeat',
  ])
    assert.ok(
      viaKey.some((c) => c.method === WORKFLOW_SERVICE + method),
      `API-key endpoint saw no ${method}`,
    );
  assert.ok(viaKey.every((c) => c.authorization === `Bearer ${API_KEY}` && c.forwarded));
});
