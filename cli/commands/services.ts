/**
 * `simclr services up|down|status|env`: the local dev stack (a persistent Temporal dev server with its
 * web UI, and MinIO), data under $SIMCLR_HOME/services (infra/services.ts).
 */
import {
  DEFAULT_PORTS,
  servicesDown,
  servicesEnv,
  servicesStatus,
  servicesUp,
  type ServicePorts,
  type ServiceStatus,
} from '../../infra/services';
import { COMMON_OPTIONS, parseCommand, positionals } from '../args';
import { table } from '../format';
import { CliError, EXIT_OK, EXIT_USAGE, type Output } from '../output';

export const usage = `usage: simclr services up|down|status|env [--temporal-port N] [--minio-port N] [--json]

  up       start the Temporal dev server (web UI on its port + 1000) and MinIO; idempotent
  down     stop them (data is kept)
  status   whether each is running, and where
  env      shell lines that point the CLI and workers at them: eval "$(simclr services env)"

  --temporal-port N     gRPC port of the Temporal dev server (default ${DEFAULT_PORTS.temporalPort})
  --minio-port N        MinIO port (default ${DEFAULT_PORTS.minioPort})
  --json                print exactly one JSON document on stdout`;

const ACTIONS = ['up', 'down', 'status', 'env'] as const;

function port(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64535)
    throw new CliError(`--${flag} must be a port number (1-64535), got '${value}'`, EXIT_USAGE);
  return n;
}

function statusTable(list: ServiceStatus[]): string {
  return table(
    ['SERVICE', 'STATE', 'PID', 'DETAIL'],
    list.map((s) => [
      s.name,
      s.state,
      s.record && s.state !== 'stopped' ? String(s.record.pid) : '',
      s.detail,
    ]),
  );
}

export async function run(argv: string[], out: Output): Promise<number> {
  const { values, positionals: pos } = parseCommand(
    argv,
    { ...COMMON_OPTIONS, 'temporal-port': { type: 'string' }, 'minio-port': { type: 'string' } },
    usage,
  );
  const [action] = positionals(pos, ['up|down|status|env'], usage);
  if (!(ACTIONS as readonly string[]).includes(action))
    throw new CliError(`unknown services action '${action}'\n\n${usage}`, EXIT_USAGE);
  const temporalPort = port(values['temporal-port'], 'temporal-port', DEFAULT_PORTS.temporalPort);
  const ports: ServicePorts = {
    temporalPort,
    temporalUiPort: temporalPort + 1000,
    minioPort: port(values['minio-port'], 'minio-port', DEFAULT_PORTS.minioPort),
  };
  const log = (line: string) => out.note(line);

  switch (action) {
    case 'up': {
      const list = await servicesUp(ports, log);
      const bad = list.filter((s) => s.state !== 'running');
      if (bad.length > 0)
        throw new CliError(
          `not running after start: ${bad.map((s) => `${s.name} (${s.detail})`).join(', ')}`,
        );
      out.document({ services: list });
      out.line(statusTable(list));
      return EXIT_OK;
    }
    case 'down': {
      await servicesDown(log);
      const list = await servicesStatus();
      out.document({ services: list });
      out.line(statusTable(list));
      return EXIT_OK;
    }
    case 'status': {
      const list = await servicesStatus();
      out.document({ services: list });
      out.line(statusTable(list));
      return EXIT_OK;
    }
    case 'env': {
      const lines = servicesEnv(ports);
      out.document({
        env: Object.fromEntries(lines.map((l) => /^export ([A-Z0-9_]+)=(.*)$/.exec(l)!.slice(1, 3))),
      });
      for (const l of lines) out.line(l);
      return EXIT_OK;
    }
  }
  return EXIT_USAGE;
}
