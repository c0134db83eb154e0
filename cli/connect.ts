/**
 * The CLI's connection to Temporal. Fails fast (5 s) with a message that names the address and
 * namespace tried and what to do about it, instead of a gRPC stack trace.
 */
import { Client, Connection } from '@temporalio/client';
import {
  probeTls,
  temporalTarget,
  type TemporalFlags,
  type TemporalTarget,
} from '../infra/temporal-connection';
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
    let msg = causes(err);
    // The client's error says little about a failed TLS handshake; one handshake of our own names it.
    const handshake = REFUSED.test(msg) ? undefined : await probeTls(target);
    if (handshake) msg += ` (TLS: ${handshake})`;
    throw new CliError(
      `cannot reach Temporal at ${target.address}: ${msg}\n  hint: ${connectionHint(target, msg)}`,
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
      `cannot use Temporal at ${target.address}, namespace '${target.namespace}': ${msg}\n  hint: ${connectionHint(target, msg)}`,
    );
  }
  const client = new Client({ connection, namespace: target.namespace });
  return { client, target, close: () => connection.close() };
}

/** The server's verdict on the credentials (gRPC 16 UNAUTHENTICATED, 7 PERMISSION_DENIED). */
const REFUSED = /UNAUTHENTICATED|PERMISSION_DENIED|unauthori[sz]ed/i;

/** Failed TLS handshakes (OpenSSL's and Node's wording, as grpc-js and probeTls see them) and what to do. */
const TLS_DIAGNOSES: [RegExp, (target: TemporalTarget) => string][] = [
  [
    /certificate required/i,
    () => 'the server requires a client certificate (mTLS): set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY',
  ],
  [
    /closed the connection after the TLS handshake|bad certificate|unknown ca|certificate unknown/i,
    (t) =>
      t.security.clientCert
        ? 'the server did not accept the client certificate TEMPORAL_TLS_CERT (is it signed by a CA the server trusts?)'
        : 'the server requires a client certificate (mTLS): set TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY',
  ],
  [
    /self[- ]signed|unable to (get|verify)|verify failed|unknown ?issuer/i,
    () =>
      "the server's certificate is not signed by the CA in TEMPORAL_TLS_CA (unset: the system CAs); set it to the CA that signed the server's certificate",
  ],
  [
    /altnames|not in the cert|hostname|name mismatch/i,
    () => "the server's certificate is for another name: set TEMPORAL_TLS_SERVER_NAME to a name in it",
  ],
  [
    /wrong version number|packet length|before secure TLS connection|record layer failure/i,
    () =>
      'the server at this address does not speak TLS (a local dev server does not): unset TEMPORAL_TLS, TEMPORAL_TLS_* and TEMPORAL_API_KEY, or use the TLS endpoint',
  ],
];

/**
 * What to check after a failed connection, from the failure's wording and the target's TLS / API key
 * settings (infra/temporal-connection.ts): the local dev server's start hint only fits a plain
 * loopback address; a TLS target gets the variable that decides its handshake or its credentials.
 */
export function connectionHint(target: TemporalTarget, message: string): string {
  const { tls, apiKey } = target.security;
  if (REFUSED.test(message))
    return apiKey
      ? `the server refused the credentials: check TEMPORAL_API_KEY and that it may use namespace '${target.namespace}'`
      : 'the server refused the credentials: set TEMPORAL_API_KEY (Temporal Cloud API key) or a client certificate (TEMPORAL_TLS_CERT / TEMPORAL_TLS_KEY)';
  if (tls) {
    const diagnosis = TLS_DIAGNOSES.find(([pattern]) => pattern.test(message));
    if (diagnosis) return diagnosis[1](target);
    return 'TLS is on (TEMPORAL_TLS, TEMPORAL_TLS_*, TEMPORAL_API_KEY): check the address, and that the server there is up and speaks TLS';
  }
  if (target.local) return START_HINT;
  return 'check the address and that the server is up; TLS is off (a TLS server needs TEMPORAL_TLS=true, TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT / TEMPORAL_TLS_KEY or TEMPORAL_API_KEY)';
}

/** The first lines of an error and of its causes, e.g. `Failed to connect to Temporal server: 16 UNAUTHENTICATED: ...`. */
function causes(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e !== undefined && parts.length < 4; e = (e as { cause?: unknown }).cause)
    parts.push(firstLine(e));
  return parts.join(': ');
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
