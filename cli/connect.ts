/**
 * The CLI's connection to Temporal. Fails fast (5 s) with a message that names the address and
 * namespace tried and what to do about it, instead of a gRPC stack trace.
 */
import { Client, Connection } from '@temporalio/client';
import { temporalTarget, type TemporalFlags, type TemporalTarget } from '../infra/temporal-connection';
import { COMMON_OPTIONS, parseCommand, positionals, TEMPORAL_OPTIONS, type OptionSpec } from './args';
import { CliError, EXIT_USAGE } from './output';

export interface TemporalSession {
  client: Client;
  target: TemporalTarget;
  close(): Promise<void>;
}

/** How long to wait for the server before saying it is unreachable. */
const CONNECT_TIMEOUT_MS = 5_000;

export const START_HINT =
  "start a local server with 'simclr services up', or run the experiment with --embedded";

/** The target named by the flags / env, with configuration mistakes (TLS files) as usage errors. */
export function resolveTarget(flags: TemporalFlags): TemporalTarget {
  try {
    return temporalTarget(flags);
  } catch (err) {
    throw new CliError(`Temporal connection settings: ${(err as Error).message}`, EXIT_USAGE);
  }
}

export async function connectTemporal(target: TemporalTarget): Promise<TemporalSession> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...target.connection, connectTimeout: CONNECT_TIMEOUT_MS });
  } catch (err) {
    throw new CliError(
      `cannot reach Temporal at ${target.address}: ${firstLine(err)}\n  hint: ${START_HINT}`,
    );
  }
  try {
    await connection.withDeadline(Date.now() + CONNECT_TIMEOUT_MS, () =>
      connection.workflowService.describeNamespace({ namespace: target.namespace }),
    );
  } catch (err) {
    await connection.close();
    const msg = firstLine(err);
    if (/not ?found/i.test(msg))
      throw new CliError(
        `namespace '${target.namespace}' does not exist at ${target.address} (set --namespace or TEMPORAL_NAMESPACE)`,
      );
    throw new CliError(
      `cannot use Temporal at ${target.address}, namespace '${target.namespace}': ${msg}\n  hint: ${START_HINT}`,
    );
  }
  const client = new Client({ connection, namespace: target.namespace });
  return { client, target, close: () => connection.close() };
}

/** The first line of an error's message (gRPC errors append long details). */
export function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0];
}

/**
 * The shape of the verbs that act on one experiment (`status`, `watch`, `cancel`, `report`): parse
 * `<id>` and the common and Temporal flags (plus `extra`), connect, run `body`, always close.
 */
export async function withExperiment<const E extends Record<string, OptionSpec>, T>(
  argv: string[],
  usage: string,
  extra: E,
  body: (
    session: TemporalSession,
    id: string,
    values: ReturnType<typeof parseCommand<typeof COMMON_OPTIONS & typeof TEMPORAL_OPTIONS & E>>['values'],
  ) => Promise<T>,
): Promise<T> {
  const { values, positionals: pos } = parseCommand(
    argv,
    { ...COMMON_OPTIONS, ...TEMPORAL_OPTIONS, ...extra },
    usage,
  );
  const [id] = positionals(pos, ['id'], usage);
  const session = await connectTemporal(resolveTarget(values));
  try {
    return await body(session, id, values);
  } finally {
    await session.close();
  }
}
