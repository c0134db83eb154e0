/**
 * A real, ephemeral MinIO per test file: a free loopback port, a temporary data folder and freshly
 * generated credentials; stop() kills it and removes the folder.
 *
 * @example
 *   let minio: TestMinio;
 *   before(async () => (minio = await startTestMinio()));
 *   after(() => minio.stop());
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMinio, type MinioProcess } from '../../infra/minio';
import type { MinioStoreOptions } from '../../storage/minio-store';

export interface TestMinio extends MinioProcess {
  /** The temporary folder holding MinIO's data and log. */
  dir: string;
  /** Options for a MinioBlobStore on `bucket` of this server. */
  storeOptions(bucket: string): MinioStoreOptions;
  /** SIMCLR_S3_* variables pointing at this server (for openStore / fromEnv). */
  env(bucket?: string): Record<string, string>;
}

export async function startTestMinio(): Promise<TestMinio> {
  const dir = mkdtempSync(join(tmpdir(), 'simclr-minio-'));
  let server: MinioProcess;
  try {
    server = await startMinio({
      dataDir: join(dir, 'data'),
      logFile: join(dir, 'minio.log'),
      accessKey: `test-${randomBytes(4).toString('hex')}`,
      secretKey: randomBytes(18).toString('base64url'),
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    ...server,
    dir,
    storeOptions: (bucket) => ({
      endpoint: server.endpoint,
      accessKey: server.accessKey,
      secretKey: server.secretKey,
      bucket,
    }),
    env: (bucket) => ({
      SIMCLR_S3_ENDPOINT: server.endpoint,
      SIMCLR_S3_ACCESS_KEY: server.accessKey,
      SIMCLR_S3_SECRET_KEY: server.secretKey,
      ...(bucket ? { SIMCLR_S3_BUCKET: bucket } : {}),
    }),
    stop: async () => {
      try {
        await server.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Runs `fn` against a fresh MinIO and always stops it afterwards. */
export async function withMinio<T>(fn: (minio: TestMinio) => Promise<T>): Promise<T> {
  const minio = await startTestMinio();
  try {
    return await fn(minio);
  } finally {
    await minio.stop();
  }
}
