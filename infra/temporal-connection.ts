/**
 * How the CLI and the workers reach Temporal: a local dev server by default, or any Temporal cluster /
 * Temporal Cloud. Address and namespace by flag or env; TLS and API key from env only (never in
 * workflow inputs or history). Every path that talks to Temporal (the CLI's client, `simclr worker`,
 * `run --embedded`, schedules, the workers' NativeConnection) takes its options from `temporalTarget`.
 *
 *   TEMPORAL_ADDRESS        host:port                     (default 127.0.0.1:7233)
 *   TEMPORAL_NAMESPACE      namespace                     (default 'default')
 *   TEMPORAL_API_KEY        API key (Temporal Cloud), sent as `authorization: Bearer <key>`; implies TLS
 *   TEMPORAL_TLS            'true' to use TLS with the system CAs ('false' refuses any TLS setting below)
 *   TEMPORAL_TLS_CERT / TEMPORAL_TLS_KEY   client certificate and key files, PEM (mTLS); imply TLS
 *   TEMPORAL_TLS_CA         CA file, PEM, for a private server certificate; implies TLS
 *   TEMPORAL_TLS_SERVER_NAME               server name to verify (and send as SNI); implies TLS
 *
 * The files are read and checked here, so a wrong path, a key that is not the certificate's or an
 * expired certificate is named before any connection is tried, not reported as a TLS handshake failure.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ConnectionOptions } from '@temporalio/client';

export interface TemporalTarget {
  address: string;
  namespace: string;
  connection: ConnectionOptions;
  /** Whether the target is the local dev server (loopback, no TLS: then the web UI URL is known). */
  local: boolean;
  /** Whether the connection uses TLS, and which credentials it presents (for messages; no secrets). */
  security: { tls: boolean; clientCert: boolean; apiKey: boolean };
}

export interface TemporalFlags {
  address?: string;
  namespace?: string;
}

/** The TLS settings that imply TLS; TEMPORAL_TLS=false next to one of them is a contradiction. */
const TLS_SETTINGS = [
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS_CERT',
  'TEMPORAL_TLS_KEY',
  'TEMPORAL_TLS_CA',
  'TEMPORAL_TLS_SERVER_NAME',
] as const;

function readFileNamed(env: NodeJS.ProcessEnv, name: string): { path: string; data: Buffer } | undefined {
  const path = env[name];
  if (!path) return undefined;
  try {
    const data = readFileSync(path);
    if (data.length === 0) throw new Error('the file is empty');
    return { path, data };
  } catch (err) {
    throw new Error(`${name}=${path}: ${(err as Error).message}`);
  }
}

/** A PEM certificate (the first of a bundle), or an error that names the variable and the file. */
function certificate(name: string, file: { path: string; data: Buffer }, now: Date): X509Certificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(file.data);
  } catch (err) {
    throw new Error(`${name}=${file.path} is not a PEM certificate (${(err as Error).message})`);
  }
  if (now < new Date(cert.validFrom))
    throw new Error(`${name}=${file.path}: the certificate is not valid before ${cert.validFrom}`);
  if (now > new Date(cert.validTo))
    throw new Error(`${name}=${file.path}: the certificate expired on ${cert.validTo}`);
  return cert;
}

function privateKey(file: { path: string; data: Buffer }): KeyObject {
  try {
    return createPrivateKey(file.data);
  } catch (err) {
    throw new Error(
      `TEMPORAL_TLS_KEY=${file.path} is not an unencrypted PEM private key (${(err as Error).message})`,
    );
  }
}

/** TEMPORAL_TLS as a boolean (undefined when unset), or an error naming the value. */
function tlsSwitch(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new Error(`TEMPORAL_TLS must be 'true' or 'false', got '${value}'`);
}

/**
 * The Temporal named by the flags and the environment, with the TLS / API key settings checked.
 * Throws an Error naming the variable (and file) at fault; the CLI shows it as a usage error.
 */
export function temporalTarget(
  flags: TemporalFlags = {},
  env: NodeJS.ProcessEnv = process.env,
): TemporalTarget {
  const address = flags.address ?? env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const addressFrom = flags.address !== undefined ? '--address' : 'TEMPORAL_ADDRESS';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(address))
    throw new Error(`${addressFrom} is HOST:PORT without a scheme, got '${address}'`);
  const namespace = flags.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default';

  const tlsFlag = tlsSwitch(env.TEMPORAL_TLS);
  const setting = TLS_SETTINGS.find((name) => env[name]);
  if (tlsFlag === false && setting)
    throw new Error(
      setting === 'TEMPORAL_API_KEY'
        ? 'TEMPORAL_TLS=false with TEMPORAL_API_KEY: the API key is only sent over TLS; unset TEMPORAL_TLS'
        : `TEMPORAL_TLS=false contradicts ${setting}; unset one of them`,
    );
  const apiKey = env.TEMPORAL_API_KEY;
  // Printable ASCII only: it travels as a gRPC header value.
  if (apiKey && !/^[!-~]+$/.test(apiKey))
    throw new Error(
      'TEMPORAL_API_KEY holds a space, a control character (a trailing newline from a file?) or non-ASCII',
    );

  const now = new Date();
  const certFile = readFileNamed(env, 'TEMPORAL_TLS_CERT');
  const keyFile = readFileNamed(env, 'TEMPORAL_TLS_KEY');
  const caFile = readFileNamed(env, 'TEMPORAL_TLS_CA');
  if (certFile && !keyFile)
    throw new Error(
      'TEMPORAL_TLS_CERT is set but TEMPORAL_TLS_KEY is not: mTLS needs the certificate and its key',
    );
  if (keyFile && !certFile)
    throw new Error(
      'TEMPORAL_TLS_KEY is set but TEMPORAL_TLS_CERT is not: mTLS needs the certificate and its key',
    );
  if (certFile && keyFile) {
    const cert = certificate('TEMPORAL_TLS_CERT', certFile, now);
    if (!cert.checkPrivateKey(privateKey(keyFile)))
      throw new Error(
        `TEMPORAL_TLS_KEY=${keyFile.path} is not the private key of TEMPORAL_TLS_CERT=${certFile.path}`,
      );
  }
  if (caFile) certificate('TEMPORAL_TLS_CA', caFile, now);

  const useTls = tlsFlag === true || setting !== undefined;
  const serverName = env.TEMPORAL_TLS_SERVER_NAME;
  const connection: ConnectionOptions = { address };
  if (useTls) {
    connection.tls = {
      ...(certFile && keyFile ? { clientCertPair: { crt: certFile.data, key: keyFile.data } } : {}),
      ...(caFile ? { serverRootCACertificate: caFile.data } : {}),
      ...(serverName ? { serverNameOverride: serverName } : {}),
    };
  }
  if (apiKey) connection.apiKey = apiKey;
  const host = address.replace(/:\d+$/, '');
  const loopback = host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  return {
    address,
    namespace,
    connection,
    local: loopback && !useTls,
    security: { tls: useTls, clientCert: Boolean(certFile), apiKey: Boolean(apiKey) },
  };
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

/**
 * One TLS handshake with the target, as the CLI's client makes it, for a failure's diagnosis: the gRPC
 * client only says that it could not connect before its deadline, while the handshake's own error
 * names the cause (an unknown CA, a refused or missing client certificate, a server that is not TLS).
 * Resolves to that error's message, or undefined when the handshake succeeds (or the target is not TLS).
 */
export function probeTls(target: TemporalTarget, timeoutMs = 3_000): Promise<string | undefined> {
  const options = target.connection.tls;
  if (!options) return Promise.resolve(undefined);
  const settings = typeof options === 'object' ? options : {};
  const match = /^\[?(.*?)\]?(?::(\d+))?$/.exec(target.address);
  const host = match?.[1] ?? target.address;
  const port = Number(match?.[2] ?? 7233);
  const serverName = settings.serverNameOverride ?? (isIP(host) ? undefined : host);
  return new Promise((resolve) => {
    let settled = false;
    const socket = tlsConnect({
      host,
      port,
      ...(serverName ? { servername: serverName } : {}),
      ...(settings.serverRootCACertificate ? { ca: Buffer.from(settings.serverRootCACertificate) } : {}),
      ...(settings.clientCertPair
        ? { cert: Buffer.from(settings.clientCertPair.crt), key: Buffer.from(settings.clientCertPair.key) }
        : {}),
      ALPNProtocols: ['h2'],
    });
    const done = (result: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    // OpenSSL's errors carry their reason apart from a message full of source paths.
    socket.on('error', (err: Error & { reason?: string }) => done(err.reason ?? err.message));
    // With TLS 1.3 the server judges the client certificate after the client's side of the handshake:
    // a refusal arrives as an alert (an error here) or a closed connection just after it.
    socket.on('secureConnect', () => setTimeout(() => done(undefined), 500));
    socket.on('close', () =>
      done(
        socket.authorized
          ? 'the server closed the connection after the TLS handshake (does it require a client certificate?)'
          : 'the server closed the connection during the TLS handshake',
      ),
    );
  });
}
