import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { findBinary } from '../../infra/binaries';
import { serviceDir } from '../../infra/paths';
import { freePort } from '../../infra/ports';
import { stopProcess } from '../../infra/process';
import { servicesDown, servicesUp } from '../../infra/services';
import { waitForPort } from '../../infra/temporal';
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

test(
  'services up adds the search attributes its database predates (the dev server registers them only in a new one)',
  {
    skip: !findBinary('temporal') && 'needs the Go-built temporal binary (infra/install-services.sh)',
  },
  async () => {
    const home = mkdtempSync(join(tmpdir(), 'simclr-sa-'));
    const saved = process.env.SIMCLR_HOME;
    process.env.SIMCLR_HOME = home;
    const ports = {
      temporalPort: await freePort(),
      temporalUiPort: await freePort(),
      minioPort: await freePort(),
    };
    try {
      // The database as an older version left it: only SimclrStage registered.
      const dir = serviceDir('temporal');
      mkdirSync(dir, { recursive: true });
      const old = spawn(
        findBinary('temporal')!,
        [
          'server',
          'start-dev',
          '--headless',
          '--ip',
          '127.0.0.1',
          '--port',
          String(ports.temporalPort),
          '--db-filename',
          join(dir, 'temporal.sqlite'),
          '--search-attribute',
          'SimclrStage=Keyword',
        ],
        { stdio: 'ignore' },
      );
      await waitForPort('127.0.0.1', ports.temporalPort, 60_000, () => 'old dev server did not start');
      await stopProcess(old.pid!);

      const notes: string[] = [];
      await servicesUp(ports, (l) => notes.push(l), ['temporal']);
      const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporalPort}` });
      try {
        const res = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
        for (const key of ALL_SEARCH_ATTRIBUTES)
          assert.ok(
            key.name in (res.customAttributes ?? {}),
            `${key.name} registered; notes: ${notes.join('\n')}`,
          );
      } finally {
        await connection.close();
      }
      assert.ok(
        notes.some((n) => /registered the search attributes .*SimclrSchedule/.test(n)),
        notes.join('\n'),
      );
    } finally {
      await servicesDown();
      if (saved === undefined) delete process.env.SIMCLR_HOME;
      else process.env.SIMCLR_HOME = saved;
      rmSync(home, { recursive: true, force: true });
    }
  },
);
