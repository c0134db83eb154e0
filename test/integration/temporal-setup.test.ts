/**
 * infra/k8s/base/setup-temporal.sh, the one-shot set-up the compose stack (service temporal-setup) and
 * the Kubernetes Job run with the admin-tools image's `temporal` CLI, run here against a real Temporal
 * dev server started bare (no namespace of ours, no search attribute): it creates the namespace, registers
 * every Simclr search attribute with the workflows' types, and a second run changes nothing and succeeds.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { requireBinary } from '../../infra/binaries';
import { freePort } from '../../infra/ports';
import { waitForPort } from '../../infra/temporal';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { ROOT } from '../helpers/cli';

const NAMESPACE = 'simclr-setup';
let server: ChildProcess;
let address: string;

before(async () => {
  const bin = requireBinary('temporal');
  const port = await freePort();
  address = `127.0.0.1:${port}`;
  server = spawn(
    bin,
    [
      'server',
      'start-dev',
      '--headless',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--log-level',
      'error',
    ],
    {
      stdio: 'ignore',
    },
  );
  await waitForPort('127.0.0.1', port, 60_000, () => 'the bare dev server');
});

after(() => {
  server?.kill('SIGKILL');
});

function runScript(): { status: number | null; output: string } {
  const bin = requireBinary('temporal');
  const r = spawnSync('sh', [join(ROOT, 'infra', 'k8s', 'base', 'setup-temporal.sh')], {
    env: {
      PATH: `${dirname(bin)}:${process.env.PATH}`,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: NAMESPACE,
    },
    encoding: 'utf8',
    timeout: 180_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

test('the set-up script creates the namespace and registers the Simclr search attributes; a second run succeeds', async () => {
  const first = runScript();
  assert.equal(first.status, 0, first.output);
  assert.match(first.output, new RegExp(`namespace '${NAMESPACE}' created`));

  const connection = await Connection.connect({ address });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({
      namespace: NAMESPACE,
    });
    const IndexedValueType = proto.api.enums.v1.IndexedValueType;
    for (const k of ALL_SEARCH_ATTRIBUTES)
      assert.equal(
        customAttributes?.[k.name],
        IndexedValueType[`INDEXED_VALUE_TYPE_${k.type}` as keyof typeof IndexedValueType],
        `${k.name} registered as ${k.type}`,
      );
  } finally {
    await connection.close();
  }

  const second = runScript();
  assert.equal(second.status, 0, second.output);
  assert.match(second.output, new RegExp(`namespace '${NAMESPACE}' exists`));
});
