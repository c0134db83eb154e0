/**
 * The Temporal dev server (`temporal server start-dev`, built from Go modules by
 * infra/install-services.sh): a real Temporal with a SQLite file for durability and the web UI.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { SearchAttributeType } from '@temporalio/common';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { requireBinary } from './binaries';
import { stopProcess, tailOf } from './process';

/** The dev server's spelling of each search attribute type (`--search-attribute Key=Type`). */
export const DEV_SERVER_TYPE_NAMES: Record<string, string> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.TEXT]: 'Text',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DOUBLE]: 'Double',
  [SearchAttributeType.BOOL]: 'Bool',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
};

export function searchAttributeArgs(): string[] {
  return ALL_SEARCH_ATTRIBUTES.flatMap((k) => [
    '--search-attribute',
    `${k.name}=${DEV_SERVER_TYPE_NAMES[k.type]}`,
  ]);
}

export interface DevServerOptions {
  /** Folder for the SQLite file and the log. */
  dataDir: string;
  host?: string;
  port?: number;
  uiPort?: number;
  /** Keep running after this process exits (the `simclr services up` case). */
  detached?: boolean;
  namespace?: string;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

/** Resolves once a TCP connection to host:port succeeds, or rejects after timeoutMs. */
export async function waitForPort(
  host: string,
  port: number,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = createConnection({ host, port }, () => {
        s.end();
        res(true);
      });
      s.on('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${host}:${port}; ${describe()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? 8233;
  mkdirSync(opts.dataDir, { recursive: true });
  const logFile = join(opts.dataDir, 'temporal.log');
  const out = openSync(logFile, 'a');
  const args = [
    'server',
    'start-dev',
    '--ip',
    host,
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--db-filename',
    join(opts.dataDir, 'temporal.sqlite'),
    '--namespace',
    opts.namespace ?? 'default',
    '--log-level',
    'warn',
    ...searchAttributeArgs(),
  ];
  const child = spawn(requireBinary('temporal'), args, {
    detached: opts.detached ?? false,
    stdio: ['ignore', out, out],
  });
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
  try {
    await waitForPort(
      host,
      port,
      60_000,
      () => `temporal ${exited ?? 'still starting'}; log ${logFile}:\n${tailOf(logFile)}`,
    );
    await waitForPort(host, uiPort, 30_000, () => `web UI did not open; log ${logFile}:\n${tailOf(logFile)}`);
  } catch (err) {
    child.kill('SIGTERM');
    throw err;
  }
  if (opts.detached) child.unref();
  return {
    address: `${host}:${port}`,
    uiUrl: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${uiPort}`,
    pid: child.pid!,
    logFile,
    stop: () => stopProcess(child.pid!),
  };
}
