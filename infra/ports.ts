/**
 * TCP port checks for the local services (Temporal dev server, MinIO): whether a port can be bound,
 * and a free ephemeral port for tests and for services started without a fixed port.
 */
import { createServer } from 'node:net';

/**
 * Whether `port` on `host` can be listened on right now. Binding is the only reliable test: it also
 * catches a listener on 0.0.0.0 or [::] that a connect to 127.0.0.1 alone could miss in either
 * direction. Another program may of course take the port between this check and its use.
 */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(false);
      else reject(new Error(`cannot check port ${port} on ${host}: ${err.message}`));
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the kernel reports free on `host` (listen on port 0, read it back, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => (port ? resolve(port) : reject(new Error(`could not get a free port on ${host}`))));
    });
  });
}

/** A port a service needs is held by another program: an expected condition, said in one line. */
export class PortInUseError extends Error {
  constructor(
    message: string,
    readonly port: number,
  ) {
    super(message);
    this.name = 'PortInUseError';
  }
}
