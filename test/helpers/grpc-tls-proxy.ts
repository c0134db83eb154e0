/**
 * A TLS terminator in front of a plaintext Temporal dev server (`temporal server start-dev` has no TLS
 * of its own), standing in for a TLS Temporal cluster or Temporal Cloud in the tests: an HTTP/2 server
 * over TLS (node:http2) that forwards every gRPC stream, headers, messages and trailers, to the dev
 * server. It can require a client certificate signed by a given CA (mTLS) and an
 * `authorization: Bearer <key>` header on every call (Temporal Cloud's API keys), answering a call
 * without it with gRPC status 16 UNAUTHENTICATED as the real server does. It records what it saw.
 */
import http2, {
  type ClientHttp2Session,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Session,
} from 'node:http2';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface GrpcTlsProxyOptions {
  /** host:port of the plaintext gRPC server behind it. */
  upstream: string;
  /** PEM files of the server certificate and its key. */
  cert: string;
  key: string;
  /** Require a client certificate signed by this CA (PEM file): mTLS. */
  clientCa?: string;
  /** Require `authorization: Bearer <apiKey>` on every call. */
  apiKey?: string;
}

/** One gRPC call the proxy received. */
export interface ProxiedCall {
  /** The gRPC method, e.g. /temporal.api.workflowservice.v1.WorkflowService/PollActivityTaskQueue. */
  method: string;
  authorization?: string;
  /** Common name of the client certificate, when one was presented. */
  clientCn?: string;
  /** Whether the call was forwarded (false: refused for its API key). */
  forwarded: boolean;
}

export interface GrpcTlsProxy {
  /** 127.0.0.1:<port>, as a client dials it. */
  address: string;
  port: number;
  calls: ProxiedCall[];
  /** TLS handshakes that failed (no client certificate, one from another CA, ...), by message. */
  handshakeErrors: string[];
  close(): Promise<void>;
}

const { NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM } = http2.constants;

/** Headers to send on: everything but the pseudo-headers the client session sets itself. */
function forwardable(headers: IncomingHttpHeaders, drop: string[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined && !drop.includes(name)) out[name] = value;
  return out;
}

export async function startGrpcTlsProxy(opts: GrpcTlsProxyOptions): Promise<GrpcTlsProxy> {
  const calls: ProxiedCall[] = [];
  const handshakeErrors: string[] = [];
  const sessions = new Set<ServerHttp2Session>();
  let upstream: ClientHttp2Session | undefined;
  const upstreamSession = (): ClientHttp2Session => {
    if (!upstream || upstream.closed || upstream.destroyed) {
      upstream = http2.connect(`http://${opts.upstream}`);
      upstream.on('error', () => undefined); // each stream reports its own failure
    }
    return upstream;
  };

  const server = http2.createSecureServer({
    cert: readFileSync(opts.cert),
    key: readFileSync(opts.key),
    ...(opts.clientCa
      ? { ca: readFileSync(opts.clientCa), requestCert: true, rejectUnauthorized: true }
      : {}),
  });
  server.on('tlsClientError', (err) => handshakeErrors.push(err.message));
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
    s.on('error', () => undefined);
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const socket = stream.session?.socket as TLSSocket | undefined;
    const peer = socket?.getPeerCertificate?.();
    const call: ProxiedCall = {
      method: String(headers[':path']),
      authorization: headers.authorization,
      clientCn: peer && 'subject' in peer && peer.subject ? String(peer.subject.CN) : undefined,
      forwarded: true,
    };
    calls.push(call);
    if (opts.apiKey !== undefined && headers.authorization !== `Bearer ${opts.apiKey}`) {
      call.forwarded = false;
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': '16',
          'grpc-message': 'Request unauthorized: missing or invalid API key',
        },
        { endStream: true },
      );
      return;
    }
    const up = upstreamSession().request(forwardable(headers, [':scheme', ':authority']));
    up.on('error', () => undefined);
    let trailers: IncomingHttpHeaders | undefined;
    up.on('response', (responseHeaders, flags) => {
      if (stream.closed) return;
      // A trailers-only response (an error without messages) ends on its headers.
      if (flags & NGHTTP2_FLAG_END_STREAM) {
        stream.respond(forwardable(responseHeaders, []), { endStream: true });
        return;
      }
      stream.respond(forwardable(responseHeaders, []), { waitForTrailers: true });
      up.pipe(stream);
    });
    up.on('trailers', (t) => (trailers = t));
    stream.on('wantTrailers', () =>
      stream.sendTrailers(
        trailers
          ? forwardable(trailers, [])
          : { 'grpc-status': '14', 'grpc-message': 'proxy: the server ended the call without trailers' },
      ),
    );
    stream.pipe(up);
    // A cancelled call (the client gave up, or the server reset it) is cancelled on the other side too.
    stream.on('close', () => {
      if (!up.closed) up.close(NGHTTP2_CANCEL);
    });
    up.on('close', () => {
      if (!stream.closed && up.rstCode) stream.close(NGHTTP2_CANCEL);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    port,
    calls,
    handshakeErrors,
    close: async () => {
      for (const s of sessions) s.destroy();
      upstream?.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
