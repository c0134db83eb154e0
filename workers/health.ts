/**
 * The worker process's health endpoint, for container health checks and Kubernetes probes. Off unless
 * SIMCLR_HEALTH_PORT is set (`simclr worker` starts it once its workers poll):
 *
 *   GET /healthz  liveness: 200 while every worker runs or drains (a draining worker is finishing or
 *                 checkpointing an activity and must not be killed for it), 503 once one failed or stopped
 *   GET /readyz   readiness: 200 only while every worker is RUNNING (polls for new tasks)
 *
 * Both answer JSON: `{ "status": "ok" | "draining" | "failed", "workers": [{ "taskQueue", "state" }] }`.
 * infra/docker/healthcheck.mjs is the image's HEALTHCHECK client.
 *
 *   SIMCLR_HEALTH_PORT   TCP port (1-65535) to listen on, all interfaces (the container's network)
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WorkerState } from './run-workers';

export const HEALTH_PORT_ENV = 'SIMCLR_HEALTH_PORT';

export type HealthStatus = 'ok' | 'draining' | 'failed';

/** Worker states that still do, or finish, work: alive for a liveness probe. */
const ALIVE = new Set(['INITIALIZED', 'RUNNING', 'DRAINING', 'STOPPING', 'DRAINED']);

/** The process's status from its workers' states. */
export function healthStatus(states: WorkerState[]): HealthStatus {
  if (states.length === 0 || states.some((s) => !ALIVE.has(s.state))) return 'failed';
  return states.every((s) => s.state === 'RUNNING') ? 'ok' : 'draining';
}

/** The port SIMCLR_HEALTH_PORT names, undefined when unset; a bad value is an error naming the variable. */
export function healthPortFrom(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env[HEALTH_PORT_ENV];
  if (raw === undefined || raw.trim() === '') return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`${HEALTH_PORT_ENV}=${raw}: expected a TCP port number from 1 to 65535`);
  return port;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/** Serves /healthz and /readyz from `states` on `port` (0: any free port). */
export function startHealthServer(port: number, states: () => WorkerState[]): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/healthz' && path !== '/readyz')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /healthz or /readyz\n');
      return;
    }
    const workers = states();
    const status = healthStatus(workers);
    const healthy = path === '/healthz' ? status !== 'failed' : status === 'ok';
    res
      .writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status, workers }) + '\n');
  });
  return new Promise((ready, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(new Error(`${HEALTH_PORT_ENV}=${port}: cannot listen (${err.code ?? err.message})`)),
    );
    server.listen(port, () => {
      const bound = (server.address() as AddressInfo).port;
      ready({
        port: bound,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
