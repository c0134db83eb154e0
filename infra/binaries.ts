/**
 * Finds the service binaries built by infra/install-services.sh: first an explicit env var, then the
 * cache ($SIMCLR_CACHE/bin, default ~/.cache/simclr/bin), then PATH.
 */
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export type ServiceBinary = 'temporal' | 'minio';

const ENV_VARS: Record<ServiceBinary, string> = {
  temporal: 'SIMCLR_TEMPORAL_BIN',
  minio: 'SIMCLR_MINIO_BIN',
};

export function cacheDir(): string {
  return process.env.SIMCLR_CACHE ?? join(homedir(), '.cache', 'simclr');
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The path of the binary, or undefined when it is nowhere to be found. */
export function findBinary(name: ServiceBinary): string | undefined {
  const fromEnv = process.env[ENV_VARS[name]];
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`${ENV_VARS[name]}=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const candidates = [
    join(cacheDir(), 'bin', name),
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((d) => join(d, name)),
  ];
  return candidates.find(isExecutable);
}

/** A service binary is not installed: an expected condition, said in one line with how to get it. */
export class MissingBinaryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingBinaryError';
  }
}

/** Like findBinary, but throws an error that says how to get the binary. */
export function requireBinary(name: ServiceBinary): string {
  const path = findBinary(name);
  if (!path) {
    throw new MissingBinaryError(
      `the '${name}' binary was not found (looked at $${ENV_VARS[name]}, ${join(cacheDir(), 'bin')} and PATH); ` +
        `run 'bash infra/install-services.sh' to build it from Go modules`,
    );
  }
  return path;
}
