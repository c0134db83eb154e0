/**
 * Starts a real MinIO server (built from Go modules by infra/install-services.sh) on loopback, with
 * its own data folder and credentials, and waits until it serves requests. Used by
 * `simclr services up` (detached, persistent) and by the integration tests (ephemeral).
 *
 * Credentials go to MinIO through its environment (MINIO_ROOT_USER / MINIO_ROOT_PASSWORD), never on
 * its command line where `ps` would show them. The web console is off unless a consolePort is given,
 * so the server opens exactly one port.
 *
 * @example
 *   const minio = await startMinio({ dataDir, accessKey: 'simclr-test', secretKey: randomSecret });
 *   // ... SIMCLR_S3_ENDPOINT=minio.endpoint ...
 *   await minio.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { dirname, resolve } from 'node:path';
import { requireBinary } from './binaries';
import { freePort } from './ports';
import { isAlive, stopProcess, tailOf } from './process';

export interface MinioOptions {
  /** MinIO's data folder (created when missing). */
  dataDir: string;
  /** Default: a free port picked on `host`. */
  port?: number;
  /** Default 127.0.0.1: reachable from this machine only. */
  host?: string;
  /** MinIO's root user: at least 3 characters. */
  accessKey: string;
  /** MinIO's root password: at least 8 characters. */
  secretKey: string;
  /** Keep running after this process exits (`simclr services up`); otherwise it is killed on exit. */
  detached?: boolean;
  /** Where MinIO's output goes (appended). Default `<dataDir>.log`, beside the data folder. */
  logFile?: string;
  /** Serve the web console on this port too; off by default. */
  consolePort?: number;
  /** How long to wait for the server to become healthy. Default 60 s. */
  healthTimeoutMs?: number;
}

export interface MinioProcess {
  /** http://host:port, the value for SIMCLR_S3_ENDPOINT. */
  endpoint: string;
  pid: number;
  host: string;
  port: number;
  accessKey: string;
  secretKey: string;
  logFile: string;
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. Data is kept. */
  stop(): Promise<void>;
}

/** Non-detached servers still running when this process exits are killed with it. */
const children = new Set<ChildProcess>();
let exitHookInstalled = false;
function killChildrenOnExit(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of children) c.kill('SIGKILL');
  });
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** Whether GET `url` answers 200 within a second (own socket, always closed: no keep-alive left behind). */
function answers200(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpGet(url, { agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
      req.destroy();
    });
    req.once('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.once('error', () => resolve(false));
  });
}

class StartError extends Error {
  constructor(
    message: string,
    readonly portTaken: boolean,
  ) {
    super(message);
  }
}

async function startOnce(
  opts: MinioOptions,
  host: string,
  port: number,
  logFile: string,
): Promise<MinioProcess> {
  const out = openSync(logFile, 'a');
  const args = [
    'server',
    resolve(opts.dataDir),
    '--address',
    `${host.includes(':') ? `[${host}]` : host}:${port}`,
    '--quiet',
    '--anonymous',
  ];
  if (opts.consolePort !== undefined)
    args.push('--console-address', `${host.includes(':') ? `[${host}]` : host}:${opts.consolePort}`);
  let child: ChildProcess;
  try {
    child = spawn(requireBinary('minio'), args, {
      detached: opts.detached ?? false,
      stdio: ['ignore', out, out],
      env: {
        ...process.env,
        MINIO_ROOT_USER: opts.accessKey,
        MINIO_ROOT_PASSWORD: opts.secretKey,
        MINIO_BROWSER: opts.consolePort !== undefined ? 'on' : 'off',
        MINIO_UPDATE: 'off',
      },
    });
  } finally {
    closeSync(out); // the child has its own copy
  }
  let exited: string | undefined;
  child.once(
    'exit',
    (code, signal) => (exited = signal ? `was killed by ${signal}` : `exited with code ${code}`),
  );
  if (!opts.detached) killChildrenOnExit(child);

  const base = `http://${urlHost(host)}:${port}`;
  const timeoutMs = opts.healthTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  // live: the HTTP server is up; ready: the object layer can serve requests (bucket creation fails before).
  const checks = [`${base}/minio/health/live`, `${base}/minio/health/ready`];
  while (checks.length > 0) {
    if (exited !== undefined) {
      const log = tailOf(logFile);
      throw new StartError(
        `minio ${exited} before becoming healthy at ${base}; log ${logFile}:\n${log}`,
        /already in use/i.test(log),
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new StartError(
        `minio did not become healthy at ${checks[0]} within ${timeoutMs / 1000} s; log ${logFile}:\n${tailOf(logFile)}`,
        false,
      );
    }
    if (await answers200(checks[0])) checks.shift();
    else await new Promise((r) => setTimeout(r, 100));
  }
  if (opts.detached) child.unref();

  const pid = child.pid!;
  return {
    endpoint: base,
    pid,
    host,
    port,
    accessKey: opts.accessKey,
    secretKey: opts.secretKey,
    logFile,
    stop: async () => {
      if (exited !== undefined || !isAlive(pid)) return;
      const gone = new Promise<void>((r) => (exited !== undefined ? r() : child.once('exit', () => r())));
      await stopProcess(pid);
      if (!opts.detached) await gone; // reaped, so the pid cannot be mistaken for a live one
    },
  };
}

/**
 * Starts MinIO and resolves once /minio/health/live and /minio/health/ready answer 200. Without a
 * `port`, a free one is picked (and another one if that is taken before MinIO binds it). Errors
 * include the tail of MinIO's log.
 */
export async function startMinio(opts: MinioOptions): Promise<MinioProcess> {
  if (opts.accessKey.length < 3) throw new Error('minio accessKey must be at least 3 characters');
  if (opts.secretKey.length < 8) throw new Error('minio secretKey must be at least 8 characters');
  const host = opts.host ?? '127.0.0.1';
  const dataDir = resolve(opts.dataDir);
  const logFile = resolve(opts.logFile ?? `${dataDir}.log`);
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(dirname(logFile), { recursive: true });
  const attempts = opts.port === undefined ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort(host));
    try {
      return await startOnce({ ...opts, dataDir }, host, port, logFile);
    } catch (err) {
      if (err instanceof StartError && err.portTaken && attempt < attempts) continue;
      throw err;
    }
  }
}
