/**
 * The fault lab: the real services and workers of a deployment, each its own process so that a test can
 * kill or restart any one of them. A Temporal dev server on a SQLite file (restartable on the same
 * database and ports), a MinIO (restartable on the same data folder and port), and `simclr worker`
 * processes (`node bin/simclr worker --queue cpu|gpu`) whose store is s3://<bucket> on that MinIO, as a
 * user sets them up with `simclr services up` and one worker per resource class. The workers run the
 * workflows from a bundle built ahead of time (SIMCLR_WORKFLOW_BUNDLE, infra/build-workflow-bundle.ts),
 * as the container images do.
 *
 * @example
 *   const lab = await startLab();
 *   const gpu = await lab.startWorker('gpu');
 *   await gpu.kill(); // SIGKILL
 *   await lab.restartTemporal();
 *   await lab.stop();
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startMinio, type MinioProcess } from '../../infra/minio';
import { freePort } from '../../infra/ports';
import { tailOf } from '../../infra/process';
import { startDevServer, type DevServer } from '../../infra/temporal';
import { MinioBlobStore } from '../../storage/minio-store';
import { ROOT } from '../helpers/cli';

export type QueueName = 'cpu' | 'gpu';

/** One `simclr worker` process. */
export interface WorkerProcess {
  queue: QueueName;
  pid: number;
  logFile: string;
  /** SIGKILL (default) or another signal; resolves once the process has exited, with how it ended. */
  kill(signal?: NodeJS.Signals): Promise<string>;
  /** The worker's output so far (its own notes and the activities' logs). */
  log(): string;
}

export interface Lab {
  dir: string;
  bucket: string;
  /** host:port of the Temporal dev server (the same across restarts). */
  address: string;
  client: Client;
  /** The lab's store, as the test sees it (the workers open their own from env). */
  store: MinioBlobStore;
  /** MinIO's data folder: tests watch it to act at a precise moment of an upload. */
  minioData: string;
  /** Env of a process that uses the lab's store (SIMCLR_STORE and the S3 settings). */
  env: Record<string, string>;
  startWorker(queue: QueueName): Promise<WorkerProcess>;
  /** Stops the dev server (SIGTERM, then SIGKILL) and starts it again on the same database and ports. */
  restartTemporal(): Promise<void>;
  /** SIGKILLs MinIO: connections drop mid-request, as on a crash or a lost node. */
  killMinio(): Promise<void>;
  /** Starts MinIO again on the same data folder, port and credentials. */
  startMinio(): Promise<void>;
  stop(): Promise<void>;
}

const BUCKET = 'faults';

export async function startLab(): Promise<Lab> {
  const dir = mkdtempSync(join(tmpdir(), 'simclr-faults-'));
  const temporalDir = join(dir, 'temporal');
  const [port, uiPort, minioPort] = [await freePort(), await freePort(), await freePort()];
  const minioData = join(dir, 'minio');
  const credentials = {
    accessKey: `faults-${randomBytes(4).toString('hex')}`,
    secretKey: randomBytes(18).toString('base64url'),
  };
  const minioOptions = {
    dataDir: minioData,
    logFile: join(dir, 'minio.log'),
    port: minioPort,
    ...credentials,
  };
  const workers = new Set<WorkerProcess>();
  let temporal: DevServer | undefined;
  let minio: MinioProcess | undefined;
  let connection: Connection | undefined;

  // If the test process dies without `after` running, its workers and dev server must not outlive it
  // (MinIO has the same hook in infra/minio.ts).
  const killLeftovers = () => {
    for (const pid of [...[...workers].map((w) => w.pid), temporal?.pid]) {
      try {
        if (pid) process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', killLeftovers);

  const stop = async () => {
    process.off('exit', killLeftovers);
    await Promise.all([...workers].map((w) => w.kill()));
    await connection?.close().catch(() => undefined);
    await temporal?.stop();
    await minio?.stop();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    temporal = await startDevServer({ dataDir: temporalDir, port, uiPort });
    minio = await startMinio(minioOptions);
    const store = await MinioBlobStore.open({
      endpoint: minio.endpoint,
      accessKey: credentials.accessKey,
      secretKey: credentials.secretKey,
      bucket: BUCKET,
    });
    connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection });
    const bundle = join(dir, 'workflow-bundle.js');
    const built = spawnSync(process.execPath, ['--import', 'tsx', 'infra/build-workflow-bundle.ts', bundle], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (built.status !== 0) throw new Error(`building the workflow bundle failed:\n${built.stderr}`);
    const env = {
      SIMCLR_WORKFLOW_BUNDLE: bundle,
      SIMCLR_HOME: join(dir, 'home'),
      SIMCLR_STORE: `s3://${BUCKET}`,
      SIMCLR_S3_ENDPOINT: minio.endpoint,
      SIMCLR_S3_ACCESS_KEY: credentials.accessKey,
      SIMCLR_S3_SECRET_KEY: credentials.secretKey,
    };
    let workerCount = 0;
    return {
      dir,
      bucket: BUCKET,
      address: temporal.address,
      client,
      store,
      minioData,
      env,
      startWorker: async (queue) => {
        const w = await spawnWorker(queue, join(dir, `worker-${++workerCount}-${queue}.log`), {
          address: temporal!.address,
          env,
        });
        workers.add(w);
        return w;
      },
      restartTemporal: async () => {
        await temporal!.stop();
        temporal = await startDevServer({ dataDir: temporalDir, port, uiPort });
      },
      killMinio: async () => {
        const pid = minio!.pid;
        process.kill(pid, 'SIGKILL');
        await minio!.stop(); // waits until it is reaped
      },
      startMinio: async () => {
        minio = await startMinio(minioOptions);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Starts `simclr worker --queue <queue> --address <address>` with `env` over this process's and resolves
 * once it polls its task queue (also used by the TLS test and `bench scale-out`).
 */
export async function spawnWorker(
  queue: QueueName,
  logFile: string,
  opts: { address: string; env: Record<string, string> },
): Promise<WorkerProcess> {
  const out = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ['bin/simclr', 'worker', '--queue', queue, '--address', opts.address], {
      cwd: ROOT,
      env: { ...process.env, ...opts.env, TF_CPP_MIN_LOG_LEVEL: '2' },
      stdio: ['ignore', out, out],
    });
  } finally {
    closeSync(out);
  }
  let exit: string | undefined;
  const exited = new Promise<string>((done) =>
    child.once('exit', (code, signal) => {
      exit = signal ? `killed by ${signal}` : `exited with ${code}`;
      done(exit);
    }),
  );
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const worker: WorkerProcess = {
    queue,
    pid: child.pid!,
    logFile,
    log,
    kill: async (signal = 'SIGKILL') => {
      if (exit === undefined) child.kill(signal);
      return exited;
    },
  };
  // Bundling the workflows and loading TensorFlow take a while on a loaded machine.
  const deadline = Date.now() + 300_000;
  while (!/worker: connected/.test(log())) {
    if (exit !== undefined)
      throw new Error(`${queue} worker ${exit} before polling; log:\n${tailOf(logFile)}`);
    if (Date.now() > deadline) {
      await worker.kill();
      throw new Error(`${queue} worker did not start within 300 s; log:\n${tailOf(logFile)}`);
    }
    await sleep(100);
  }
  return worker;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it returns a value (not undefined); rejects after `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  { timeoutMs = 300_000, everyMs = 100 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}
