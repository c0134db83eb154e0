/**
 * How the CLI and the workers reach Temporal: a local dev server by default, or any Temporal cluster /
 * Temporal Cloud. Address and namespace by flag or env; TLS and API key from env only (never in
 * workflow inputs or history).
 *
 *   TEMPORAL_ADDRESS        host:port                     (default 127.0.0.1:7233)
 *   TEMPORAL_NAMESPACE      namespace                     (default 'default')
 *   TEMPORAL_API_KEY        API key (Temporal Cloud); implies TLS
 *   TEMPORAL_TLS            'true' to use TLS with the system CAs
 *   TEMPORAL_TLS_CERT / TEMPORAL_TLS_KEY   client certificate and key files (mTLS)
 *   TEMPORAL_TLS_CA         CA file for a private server certificate
 *   TEMPORAL_TLS_SERVER_NAME               server name override
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from '@temporalio/client';

export interface TemporalTarget {
  address: string;
  namespace: string;
  connection: ConnectionOptions;
  /** Whether the target is the local dev server (then the web UI URL is known). */
  local: boolean;
}

export interface TemporalFlags {
  address?: string;
  namespace?: string;
}

function readFileNamed(envVar: string): Buffer | undefined {
  const path = process.env[envVar];
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${envVar}=${path}: ${(err as Error).message}`);
  }
}

export function temporalTarget(flags: TemporalFlags = {}): TemporalTarget {
  const address = flags.address ?? process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const namespace = flags.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default';
  const apiKey = process.env.TEMPORAL_API_KEY;
  const cert = readFileNamed('TEMPORAL_TLS_CERT');
  const key = readFileNamed('TEMPORAL_TLS_KEY');
  const ca = readFileNamed('TEMPORAL_TLS_CA');
  if ((cert && !key) || (!cert && key))
    throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together');
  const useTls = Boolean(apiKey || cert || ca || process.env.TEMPORAL_TLS === 'true');
  const connection: ConnectionOptions = { address };
  if (useTls) {
    connection.tls = {
      ...(cert && key ? { clientCertPair: { crt: cert, key } } : {}),
      ...(ca ? { serverRootCACertificate: ca } : {}),
      ...(process.env.TEMPORAL_TLS_SERVER_NAME
        ? { serverNameOverride: process.env.TEMPORAL_TLS_SERVER_NAME }
        : {}),
    };
  }
  if (apiKey) connection.apiKey = apiKey;
  const host = address.split(':')[0];
  return { address, namespace, connection, local: host === '127.0.0.1' || host === 'localhost' };
}

/** The web UI page of one workflow run (local dev server: UI on the gRPC port + 1000). */
export function webUiUrl(target: TemporalTarget, workflowId: string, runId?: string): string | undefined {
  const base =
    process.env.SIMCLR_TEMPORAL_UI ??
    (target.local
      ? `http://${target.address.split(':')[0]}:${Number(target.address.split(':')[1] ?? 7233) + 1000}`
      : undefined);
  if (!base) return undefined;
  return `${base}/namespaces/${encodeURIComponent(target.namespace)}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}/history` : ''}`;
}
