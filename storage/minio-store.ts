/**
 * The object-store backend: one bucket of MinIO or any S3-compatible service, through the `minio`
 * client. Same contract as the filesystem store (test/integration/storage-contract.test.ts).
 *
 * Credentials come only from the environment (or explicit options in tests) and never appear in
 * `location`, errors or anything the pipeline records:
 *   SIMCLR_S3_ENDPOINT    e.g. http://127.0.0.1:9000 (https:// for TLS)
 *   SIMCLR_S3_ACCESS_KEY, SIMCLR_S3_SECRET_KEY
 *   SIMCLR_S3_BUCKET      the default bucket (an s3://bucket URI names its own)
 *   SIMCLR_S3_REGION      optional: asked of the server when unset; new buckets go to us-east-1
 *
 * Atomicity is S3's: a single PUT and a completed multipart upload are both all-or-nothing, and of
 * concurrent writers of one key the last to complete wins. Streams are uploaded as a multipart upload
 * of `partSize` parts (default 16 MiB: S3's 10,000-part limit then allows 160 GB objects while only
 * one part is held in memory); a failed stream aborts its upload and leaves the old object in place.
 * Each put starts its own upload: the client's `putObject` resumes any pending upload of the same key,
 * which would mix the parts of concurrent writers.
 *
 * Keys must not be both an object and the folder of others ('a' and 'a/b'): the filesystem store
 * refuses it, and MinIO accepts it but then lists such objects inconsistently.
 *
 * @example
 *   const store = await MinioBlobStore.fromEnv();          // bucket created when missing
 *   await store.put('experiments/e1/report.json', json);
 */
import { Client } from 'minio';
import type { Readable } from 'node:stream';
import { BlobNotFoundError, type BlobStat, type BlobStore, existsByStat } from './blob-store';
import { compareKeys, validateKey, validatePrefix } from './keys';
import { redact } from './redact';

export interface MinioStoreOptions {
  /** http(s)://host[:port], e.g. http://127.0.0.1:9000. */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  /**
   * The bucket's region. When unset the client asks the server once per bucket (AWS S3 needs the
   * right one), and a missing bucket is created in us-east-1, MinIO's default.
   */
  region?: string;
  /** Multipart part size in bytes for streamed puts; S3 allows 5 MiB to 5 GiB. Default 16 MiB. */
  partSize?: number;
}

/** The environment variables MinioBlobStore reads, in one place for messages and docs. */
export const S3_ENV = {
  endpoint: 'SIMCLR_S3_ENDPOINT',
  accessKey: 'SIMCLR_S3_ACCESS_KEY',
  secretKey: 'SIMCLR_S3_SECRET_KEY',
  bucket: 'SIMCLR_S3_BUCKET',
  region: 'SIMCLR_S3_REGION',
} as const;

const DEFAULT_REGION = 'us-east-1';
const DEFAULT_PART_SIZE = 16 * 1024 * 1024;
const MIN_PART_SIZE = 5 * 1024 * 1024;
/** DeleteObjects accepts at most 1000 keys per request. */
const DELETE_BATCH = 1000;

/** S3 bucket naming rules: 3-63 characters, lowercase letters, digits, '.', '-', starting and ending alphanumeric. */
export function isValidBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name)
  );
}

function s3Code(err: unknown): string | undefined {
  return (err as { code?: string } | undefined)?.code;
}

function isNotFound(err: unknown): boolean {
  const code = s3Code(err);
  return code === 'NoSuchKey' || code === 'NotFound';
}

/** Reads the store options from the environment; the error names the first missing variable. */
export function minioOptionsFromEnv(
  bucket?: string,
  env: NodeJS.ProcessEnv = process.env,
): MinioStoreOptions {
  const need = (name: string, why: string): string => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set: ${why}`);
    return value;
  };
  return {
    endpoint: need(
      S3_ENV.endpoint,
      'the S3/MinIO endpoint, e.g. http://127.0.0.1:9000 (`simclr services env` prints it)',
    ),
    accessKey: need(S3_ENV.accessKey, 'the S3/MinIO access key'),
    secretKey: need(S3_ENV.secretKey, 'the S3/MinIO secret key'),
    bucket: bucket ?? need(S3_ENV.bucket, 'the bucket to use (or name it in an s3://bucket URI)'),
    region: env[S3_ENV.region] || undefined,
  };
}

function parseEndpoint(endpoint: string): { endPoint: string; port: number; useSSL: boolean } {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`invalid S3 endpoint '${redact(endpoint)}': expected http(s)://host[:port]`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`invalid S3 endpoint '${redact(endpoint)}': the scheme must be http or https`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.username || url.password) {
    throw new Error(
      `invalid S3 endpoint '${url.protocol}//${url.host}${url.pathname}': expected http(s)://host[:port] with no path or credentials`,
    );
  }
  const useSSL = url.protocol === 'https:';
  // URL keeps IPv6 hosts bracketed; the client wants them bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { endPoint: host, port: url.port ? Number(url.port) : useSSL ? 443 : 80, useSSL };
}

export class MinioBlobStore implements BlobStore {
  readonly location: string;
  readonly bucket: string;
  /** The endpoint (no credentials), for messages. */
  readonly endpoint: string;
  private readonly client: Client;
  private readonly region: string | undefined;
  private readonly partSize: number;

  /** Does not touch the network; use MinioBlobStore.open (or ensureBucket) to create the bucket. */
  constructor(options: MinioStoreOptions) {
    if (!isValidBucketName(options.bucket)) {
      throw new Error(`invalid bucket name '${options.bucket}': 3-63 lowercase letters, digits, '.' or '-'`);
    }
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    if (this.partSize < MIN_PART_SIZE)
      throw new Error(`partSize ${this.partSize} is below S3's minimum part size of 5 MiB`);
    const ep = parseEndpoint(options.endpoint);
    this.endpoint = `${ep.useSSL ? 'https' : 'http'}://${ep.endPoint.includes(':') ? `[${ep.endPoint}]` : ep.endPoint}:${ep.port}`;
    this.bucket = options.bucket;
    this.region = options.region;
    this.location = `s3://${options.bucket}`;
    this.client = new Client({
      ...ep,
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      ...(this.region ? { region: this.region } : {}),
    });
  }

  /** A store on `options.bucket`, creating the bucket when it does not exist. */
  static async open(options: MinioStoreOptions): Promise<MinioBlobStore> {
    const store = new MinioBlobStore(options);
    await store.ensureBucket();
    return store;
  }

  /** A store configured from SIMCLR_S3_* (see minioOptionsFromEnv), creating the bucket when missing. */
  static async fromEnv(bucket?: string, env: NodeJS.ProcessEnv = process.env): Promise<MinioBlobStore> {
    return MinioBlobStore.open(minioOptionsFromEnv(bucket, env));
  }

  /** Creates the bucket unless it exists; a clear error when the endpoint cannot be reached or refuses. */
  async ensureBucket(): Promise<void> {
    try {
      if (await this.client.bucketExists(this.bucket)) return;
      await this.client.makeBucket(this.bucket, this.region ?? DEFAULT_REGION);
    } catch (err) {
      const code = s3Code(err);
      if (code === 'BucketAlreadyOwnedByYou') return; // created concurrently
      const why = redact([code, (err as Error).message].filter(Boolean).join(': '));
      throw new Error(`cannot open bucket '${this.bucket}' at ${this.endpoint}: ${why}`, { cause: err });
    }
  }

  async put(key: string, data: Buffer | Uint8Array | string | Readable): Promise<void> {
    validateKey(key);
    if (typeof data === 'string' || data instanceof Uint8Array) {
      const buf = Buffer.isBuffer(data)
        ? data
        : typeof data === 'string'
          ? Buffer.from(data)
          : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      await this.client.putObject(this.bucket, key, buf, buf.length);
      return;
    }
    await this.putStream(key, data);
  }

  /**
   * Streams in `partSize` parts: a stream shorter than one part becomes a single PUT; a longer one a
   * multipart upload of its own, aborted on any failure (the source's or the server's).
   */
  private async putStream(key: string, data: Readable): Promise<void> {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let uploadId: string | undefined;
    const etags: { part: number; etag: string }[] = [];
    const take = (bytes: number): Buffer => {
      const all = Buffer.concat(pending, pendingBytes);
      const part = all.subarray(0, bytes);
      pending = bytes < all.length ? [all.subarray(bytes)] : [];
      pendingBytes = all.length - bytes;
      return part;
    };
    const uploadPart = async (part: Buffer): Promise<void> => {
      uploadId ??= await this.client.initiateNewMultipartUpload(this.bucket, key, {
        'Content-Type': 'application/octet-stream',
      });
      const partNumber = etags.length + 1;
      const res = await this.client.uploadPart(
        { bucketName: this.bucket, objectName: key, uploadID: uploadId, partNumber, headers: {} },
        part,
      );
      etags.push({ part: partNumber, etag: res.etag });
    };
    try {
      for await (const chunk of data as AsyncIterable<Buffer | string>) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        pending.push(bytes);
        pendingBytes += bytes.length;
        while (pendingBytes >= this.partSize) await uploadPart(take(this.partSize));
      }
      if (uploadId === undefined) {
        const whole = take(pendingBytes);
        await this.client.putObject(this.bucket, key, whole, whole.length);
        return;
      }
      if (pendingBytes > 0) await uploadPart(take(pendingBytes));
      await this.client.completeMultipartUpload(this.bucket, key, uploadId, etags);
    } catch (err) {
      if (uploadId !== undefined)
        await this.client.abortMultipartUpload(this.bucket, key, uploadId).catch(() => {});
      throw err;
    }
  }

  async get(key: string): Promise<Buffer> {
    const stream = await this.getStream(key);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async getStream(key: string): Promise<Readable> {
    validateKey(key);
    try {
      return await this.client.getObject(this.bucket, key);
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(key, this.location);
      throw err;
    }
  }

  async stat(key: string): Promise<BlobStat> {
    validateKey(key);
    try {
      const st = await this.client.statObject(this.bucket, key);
      return { key, size: st.size, modified: st.lastModified };
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(key, this.location);
      throw err;
    }
  }

  exists(key: string): Promise<boolean> {
    return existsByStat((k) => this.stat(k), key);
  }

  async list(prefix: string): Promise<BlobStat[]> {
    validatePrefix(prefix);
    const out: BlobStat[] = [];
    for await (const item of this.client.listObjectsV2(this.bucket, prefix, true)) {
      if (item.name !== undefined) out.push({ key: item.name, size: item.size, modified: item.lastModified });
    }
    return out.sort((a, b) => compareKeys(a.key, b.key));
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    await this.client.removeObject(this.bucket, key); // S3 DELETE succeeds for a missing key
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys = (await this.list(prefix)).map((s) => s.key);
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const errors = (await this.client.removeObjects(
        this.bucket,
        keys.slice(i, i + DELETE_BATCH),
      )) as unknown[];
      const failed = errors
        .map(
          (e) =>
            (e as { Error?: Record<string, string> } & Record<string, string>)?.Error ??
            (e as Record<string, string>),
        )
        .filter((e) => e && (e.Code || e.Key));
      if (failed.length > 0) {
        const first = failed[0];
        throw new Error(
          `deleting '${prefix}*' in ${this.location}: ${failed.length} objects failed, e.g. '${first.Key}': ${first.Code} ${first.Message ?? ''}`,
        );
      }
    }
    return keys.length;
  }
}
