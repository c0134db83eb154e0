/**
 * The local dev stack behind `simclr services up | down | status | env`: a persistent Temporal dev server
 * (SQLite file, logs, web UI on 8233, search attributes registered) and MinIO, each with its data under
 * the data root ($SIMCLR_HOME/services/<name>), its pid recorded, health-checked, idempotent.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from './binaries';
import { registerSearchAttributes } from './register-search-attributes';
import { startMinio } from './minio';
import { isPortFree, PortInUseError } from './ports';
import { serviceDir } from './paths';
import { stopProcess } from './process';
import { isSameProcess, processIdentity, type RecordedProcess } from './process-identity';
import { startDevServer, waitForPort } from './temporal';

export interface ServicePorts {
  temporalPort: number;
  temporalUiPort: number;
  minioPort: number;
}

export const DEFAULT_PORTS: ServicePorts = { temporalPort: 7233, temporalUiPort: 8233, minioPort: 9000 };

export interface ServiceRecord extends RecordedProcess {
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
  /** True when this call started it (servicesUp), so the caller owns it. */
  startedNow?: boolean;
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

/**
 * The service's record when its pid is still the process it recorded; a record naming a pid that is
 * gone or now belongs to another program (pid reuse, a reboot) is stale: removed, never signalled.
 */
function liveRecord(name: ServiceRecord['name']): { record?: ServiceRecord; stale?: ServiceRecord } {
  const record = readRecord(name);
  if (!record) return {};
  if (isSameProcess(record.pid, record, name)) return { record };
  rmSync(recordFile(name), { force: true });
  return { stale: record };
}

/** Stops the recorded process, re-checking before every signal that the pid is still that process. */
function stopRecorded(record: ServiceRecord): Promise<void> {
  return stopProcess(record.pid, undefined, () => isSameProcess(record.pid, record, record.name));
}

/** What to record of a process this module just started. */
function recorded(name: ServiceRecord['name'], pid: number): RecordedProcess {
  return { identity: processIdentity(pid), program: requireBinary(name) };
}

function writeRecord(rec: ServiceRecord): void {
  mkdirSync(serviceDir(rec.name), { recursive: true });
  writeFileAtomic(recordFile(rec.name), JSON.stringify(rec, null, 2), 0o644);
}

/**
 * Writes a whole file or nothing: a temporary file created with `mode` (never readable by others in
 * between, whatever the umask makes of it, for the credentials) and renamed over the target.
 */
export function writeFileAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(tmp, text, { mode, flag: 'wx' });
    chmodSync(tmp, mode);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** The local MinIO's credentials: generated once, kept (mode 600) beside its data. */
export function localMinioCredentials(): MinioCredentials {
  const file = join(serviceDir('minio'), 'credentials.json');
  if (existsSync(file)) {
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600); // e.g. copied with a looser mode
    return JSON.parse(readFileSync(file, 'utf8')) as MinioCredentials;
  }
  mkdirSync(serviceDir('minio'), { recursive: true });
  const creds = {
    accessKey: `simclr-${randomBytes(4).toString('hex')}`,
    secretKey: randomBytes(24).toString('base64url'),
  };
  writeFileAtomic(file, JSON.stringify(creds), 0o600);
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
  const { record, stale } = liveRecord(name);
  if (!record) {
    const detail = stale
      ? `not running (removed a stale service file: pid ${stale.pid} is no longer ${name})`
      : 'not running';
    return { name, state: 'stopped', detail };
  }
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
      throw new PortInUseError(
        `cannot start ${name}: port ${port} on ${HOST} is already in use by another program ` +
          `(find it with 'ss -ltnp | grep :${port}', or pick other ports with --temporal-port / --minio-port)`,
        port,
      );
    }
  }
}

/**
 * The running dev server's database may predate some search attributes (its flags register them only
 * in a new database): add those, so runs that set them are not refused. A failure is said, not fatal.
 */
async function registerMissingAttributes(log: (line: string) => void): Promise<void> {
  const rec = readRecord('temporal');
  if (!rec) return;
  try {
    const added = await registerSearchAttributes(`${rec.host}:${rec.ports[0]}`);
    if (added.length > 0) log(`temporal: registered the search attributes ${added.join(', ')}`);
  } catch (err) {
    log(`temporal: could not check its search attributes: ${(err as Error).message}`);
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
  /** Called as soon as a service this call started is recorded (before its health is reported). */
  onStarted: (record: ServiceRecord) => void = () => {},
): Promise<ServiceStatus[]> {
  const [temporal, minio] = await servicesStatus();
  const started = new Set<ServiceStatus['name']>();
  if (!only.includes('temporal')) {
    // not asked for
  } else if (temporal.state === 'running') log(`temporal: already running (${temporal.detail})`);
  else {
    if (temporal.state === 'unhealthy') await stopRecorded(temporal.record!);
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
      ...recorded('temporal', srv.pid),
      host: HOST,
      ports: [ports.temporalPort, ports.temporalUiPort],
      urls: { grpc: srv.address, 'web UI': srv.uiUrl, log: srv.logFile, db: join(dir, 'temporal.sqlite') },
      startedAt: new Date().toISOString(),
    });
    onStarted(readRecord('temporal')!);
    started.add('temporal');
    log(`temporal: running at ${srv.address}, web UI ${srv.uiUrl}`);
  }
  if (only.includes('temporal')) await registerMissingAttributes(log);
  if (!only.includes('minio')) {
    // not asked for
  } else if (minio.state === 'running') log(`minio: already running (${minio.detail})`);
  else {
    if (minio.state === 'unhealthy') await stopRecorded(minio.record!);
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
      ...recorded('minio', srv.pid),
      host: HOST,
      ports: [ports.minioPort],
      urls: { endpoint: srv.endpoint, log: join(dir, 'minio.log'), data: join(dir, 'data') },
      startedAt: new Date().toISOString(),
    });
    onStarted(readRecord('minio')!);
    started.add('minio');
    log(`minio: running at ${srv.endpoint}`);
  }
  return (await servicesStatus()).map((s) => (started.has(s.name) ? { ...s, startedNow: true } : s));
}

/** Stops both (SIGTERM, then SIGKILL after a grace period). Data is kept. */
export async function servicesDown(log: (line: string) => void = () => {}): Promise<void> {
  for (const name of ['temporal', 'minio'] as const) await stopService(name, log);
}

/**
 * Stops one service if its recorded pid is still that service; a stale file is removed and nothing is
 * signalled. Data is kept.
 */
export async function stopService(
  name: ServiceRecord['name'],
  log: (line: string) => void = () => {},
): Promise<void> {
  const { record, stale } = liveRecord(name);
  if (record) {
    await stopRecorded(record);
    log(`${name}: stopped (pid ${record.pid})`);
  } else if (stale) log(`${name}: was not running (removed a stale service file naming pid ${stale.pid})`);
  else log(`${name}: was not running`);
  rmSync(recordFile(name), { force: true });
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
