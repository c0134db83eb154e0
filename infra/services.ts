/**
 * The local dev stack behind `simclr services up | down | status | env`: a persistent Temporal dev server
 * (SQLite file, logs, web UI on 8233, search attributes registered) and MinIO, each with its data under
 * the data root ($SIMCLR_HOME/services/<name>), its pid recorded, health-checked, idempotent.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMinio } from './minio';
import { isPortFree } from './ports';
import { serviceDir } from './paths';
import { isAlive, stopProcess } from './process';
import { startDevServer, waitForPort } from './temporal';

export interface ServicePorts {
  temporalPort: number;
  temporalUiPort: number;
  minioPort: number;
}

export const DEFAULT_PORTS: ServicePorts = { temporalPort: 7233, temporalUiPort: 8233, minioPort: 9000 };

export interface ServiceRecord {
  name: 'temporal' | 'minio';
  pid: number;
  host: string;
  ports: number[];
  /** Where a person or a client reaches it. */
  urls: Record<string, string>;
  startedAt: string;
}

export interface ServiceStatus {
  name: 'temporal' | 'minio';
  state: 'running' | 'stopped' | 'unhealthy';
  record?: ServiceRecord;
  detail: string;
}

interface MinioCredentials {
  accessKey: string;
  secretKey: string;
}

const HOST = '127.0.0.1';

function recordFile(name: string): string {
  return join(serviceDir(name), 'service.json');
}

function readRecord(name: string): ServiceRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordFile(name), 'utf8')) as ServiceRecord;
  } catch {
    return undefined;
  }
}

function writeRecord(rec: ServiceRecord): void {
  mkdirSync(serviceDir(rec.name), { recursive: true });
  writeFileSync(recordFile(rec.name), JSON.stringify(rec, null, 2));
}

/** The local MinIO's credentials: generated once, kept (mode 600) beside its data. */
export function localMinioCredentials(): MinioCredentials {
  const file = join(serviceDir('minio'), 'credentials.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as MinioCredentials;
  mkdirSync(serviceDir('minio'), { recursive: true });
  const creds = {
    accessKey: `simclr-${randomBytes(4).toString('hex')}`,
    secretKey: randomBytes(24).toString('base64url'),
  };
  writeFileSync(file, JSON.stringify(creds), { mode: 0o600 });
  return creds;
}

async function probe(host: string, port: number): Promise<boolean> {
  try {
    await waitForPort(host, port, 1, () => '');
    return true;
  } catch {
    return false;
  }
}

async function statusOf(name: 'temporal' | 'minio'): Promise<ServiceStatus> {
  const record = readRecord(name);
  if (!record || !isAlive(record.pid)) return { name, state: 'stopped', detail: 'not running' };
  const open = await Promise.all(record.ports.map((p) => probe(record.host, p)));
  if (open.every(Boolean)) {
    return {
      name,
      state: 'running',
      record,
      detail: Object.entries(record.urls)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    };
  }
  return {
    name,
    state: 'unhealthy',
    record,
    detail: `pid ${record.pid} alive but port(s) ${record.ports.filter((_, i) => !open[i]).join(', ')} closed`,
  };
}

export async function servicesStatus(): Promise<ServiceStatus[]> {
  return Promise.all([statusOf('temporal'), statusOf('minio')]);
}

async function ensurePortsFree(name: string, ports: number[]): Promise<void> {
  for (const port of ports) {
    if (!(await isPortFree(port, HOST))) {
      throw new Error(
        `cannot start ${name}: port ${port} on ${HOST} is already in use by another program ` +
          `(find it with 'ss -ltnp | grep :${port}', or pick other ports with --temporal-port / --minio-port)`,
      );
    }
  }
}

/**
 * Starts whatever is not running yet (only the services named in `only`, default both); returns the
 * status of both. Idempotent. `simclr run --embedded` starts only temporal: its store is the filesystem.
 */
export async function servicesUp(
  ports: ServicePorts = DEFAULT_PORTS,
  log: (line: string) => void = () => {},
  only: ServiceStatus['name'][] = ['temporal', 'minio'],
): Promise<ServiceStatus[]> {
  const [temporal, minio] = await servicesStatus();
  if (!only.includes('temporal')) {
    // not asked for
  } else if (temporal.state === 'running') log(`temporal: already running (${temporal.detail})`);
  else {
    if (temporal.state === 'unhealthy') await stopProcess(temporal.record!.pid);
    await ensurePortsFree('temporal', [ports.temporalPort, ports.temporalUiPort]);
    log('temporal: starting the dev server');
    const dir = serviceDir('temporal');
    const srv = await startDevServer({
      dataDir: dir,
      host: HOST,
      port: ports.temporalPort,
      uiPort: ports.temporalUiPort,
      detached: true,
    });
    writeRecord({
      name: 'temporal',
      pid: srv.pid,
      host: HOST,
      ports: [ports.temporalPort, ports.temporalUiPort],
      urls: { grpc: srv.address, 'web UI': srv.uiUrl, log: srv.logFile, db: join(dir, 'temporal.sqlite') },
      startedAt: new Date().toISOString(),
    });
    log(`temporal: running at ${srv.address}, web UI ${srv.uiUrl}`);
  }
  if (!only.includes('minio')) {
    // not asked for
  } else if (minio.state === 'running') log(`minio: already running (${minio.detail})`);
  else {
    if (minio.state === 'unhealthy') await stopProcess(minio.record!.pid);
    await ensurePortsFree('minio', [ports.minioPort]);
    log('minio: starting');
    const dir = serviceDir('minio');
    const creds = localMinioCredentials();
    const srv = await startMinio({
      dataDir: join(dir, 'data'),
      host: HOST,
      port: ports.minioPort,
      accessKey: creds.accessKey,
      secretKey: creds.secretKey,
      detached: true,
      logFile: join(dir, 'minio.log'),
    });
    writeRecord({
      name: 'minio',
      pid: srv.pid,
      host: HOST,
      ports: [ports.minioPort],
      urls: { endpoint: srv.endpoint, log: join(dir, 'minio.log'), data: join(dir, 'data') },
      startedAt: new Date().toISOString(),
    });
    log(`minio: running at ${srv.endpoint}`);
  }
  return servicesStatus();
}

/** Stops both (SIGTERM, then SIGKILL after a grace period). Data is kept. */
export async function servicesDown(log: (line: string) => void = () => {}): Promise<void> {
  for (const name of ['temporal', 'minio'] as const) {
    const rec = readRecord(name);
    if (rec && isAlive(rec.pid)) {
      await stopProcess(rec.pid);
      log(`${name}: stopped (pid ${rec.pid})`);
    } else log(`${name}: was not running`);
    rmSync(recordFile(name), { force: true });
  }
}

/** Shell lines that point the CLI and workers at the local stack (`eval "$(simclr services env)"`). */
export function servicesEnv(ports: ServicePorts = DEFAULT_PORTS): string[] {
  const creds = localMinioCredentials();
  const rec = readRecord('minio');
  return [
    `export TEMPORAL_ADDRESS=${HOST}:${readRecord('temporal')?.ports[0] ?? ports.temporalPort}`,
    `export SIMCLR_S3_ENDPOINT=${rec?.urls.endpoint ?? `http://${HOST}:${ports.minioPort}`}`,
    `export SIMCLR_S3_ACCESS_KEY=${creds.accessKey}`,
    `export SIMCLR_S3_SECRET_KEY=${creds.secretKey}`,
    `export SIMCLR_S3_BUCKET=simclr`,
    `export SIMCLR_STORE=s3://simclr`,
  ];
}
