/**
 * A throw-away public-key infrastructure for the TLS tests, made with the `openssl` command at test time
 * (node:crypto makes keys but not X.509 certificates): a CA, a server certificate for localhost and
 * 127.0.0.1, a client certificate signed by the CA (mTLS), and a second, unrelated CA with its own client
 * certificate (the "wrong CA" cases). EC P-256 keys in PKCS#8, X.509 v3 with the extensions that rustls
 * (the workers' Rust core) insists on: CA basic constraints, key usage, extended key usage, SANs.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Paths of PEM files. */
export interface TestPki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed neither the server nor the client certificate above. */
  otherCaCert: string;
  /** A client certificate (and key) signed by the other CA. */
  otherClientCert: string;
  otherClientKey: string;
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT')
      throw new Error('the TLS tests need the `openssl` command (apt-get install openssl)');
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString() ?? e.message}`);
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function makeCa(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  openssl([
    'req', '-x509', ...EC_KEY, '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]); // prettier-ignore
  return { cert, key };
}

/** A leaf certificate signed by `ca`, with the given extensions (openssl extfile syntax). */
function makeLeaf(dir: string, name: string, ca: { cert: string; key: string }, extensions: string[]) {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    [...extensions, 'basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature'].join('\n'),
  );
  openssl(['req', ...EC_KEY, '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  openssl([
    'x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-out', cert, '-days', '2',
    '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-extfile', ext,
  ]); // prettier-ignore
  return { cert, key };
}

/** Writes the PKI into `dir` (a fresh temporary folder of the test). */
export function makeTestPki(dir: string): TestPki {
  const ca = makeCa(dir, 'simclr-test-ca');
  const server = makeLeaf(dir, 'localhost', ca, [
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
    'extendedKeyUsage=serverAuth',
  ]);
  const client = makeLeaf(dir, 'simclr-test-client', ca, ['extendedKeyUsage=clientAuth']);
  const other = makeCa(dir, 'other-ca');
  const otherClient = makeLeaf(dir, 'other-client', other, ['extendedKeyUsage=clientAuth']);
  return {
    caCert: ca.cert,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    otherCaCert: other.cert,
    otherClientCert: otherClient.cert,
    otherClientKey: otherClient.key,
  };
}
