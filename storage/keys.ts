/**
 * The one definition of a valid storage key, shared by every BlobStore so that the filesystem store
 * and the MinIO/S3 store accept and refuse exactly the same keys.
 *
 * A key is a relative, '/'-separated path: `datasets/<id>/shard-00003.bin`. Refused (InvalidKeyError):
 * empty keys, a leading '/', empty segments ('a//b', a trailing '/'), '.' and '..' segments,
 * backslashes, NUL and other control characters, segments over 255 bytes (the filesystem limit) and
 * keys over 1024 bytes (the S3 limit), and segments starting with TEMP_MARKER (the filesystem store's
 * in-flight writes). Such a key can never name a path outside the store's root.
 */
import { InvalidKeyError } from './blob-store';

/** Names of in-flight temporary files start with this; no key segment may. */
export const TEMP_MARKER = '.blob-tmp-';

/** S3's maximum object key length, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;
/** NAME_MAX of common filesystems (ext4, xfs), in bytes. */
const MAX_SEGMENT_BYTES = 255;

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

function checkSegment(key: string, segment: string): void {
  if (segment === '') throw new InvalidKeyError(key, 'empty path segment (leading, trailing or doubled "/")');
  if (segment === '.' || segment === '..')
    throw new InvalidKeyError(key, `'${segment}' segments are not allowed`);
  if (segment.startsWith(TEMP_MARKER))
    throw new InvalidKeyError(key, `segments starting with '${TEMP_MARKER}' are reserved`);
  if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES) {
    throw new InvalidKeyError(key, `segment longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
}

function checkCharacters(key: string): void {
  if (typeof key !== 'string') throw new InvalidKeyError(String(key), 'not a string');
  if (key.includes('\\')) throw new InvalidKeyError(key, 'backslashes are not allowed (use "/")');
  if (key.includes('\0')) throw new InvalidKeyError(key, 'NUL characters are not allowed');
  if (CONTROL_CHARS.test(key)) throw new InvalidKeyError(key, 'control characters are not allowed');
  if (key.startsWith('/')) throw new InvalidKeyError(key, 'keys are relative (no leading "/")');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES)
    throw new InvalidKeyError(key, `longer than ${MAX_KEY_BYTES} bytes`);
}

/** Throws InvalidKeyError unless `key` is a valid object key; returns it otherwise. */
export function validateKey(key: string): string {
  checkCharacters(key);
  if (key === '') throw new InvalidKeyError(key, 'empty key');
  for (const segment of key.split('/')) checkSegment(key, segment);
  return key;
}

/**
 * Validates a listing prefix: '' (everything), a folder such as `datasets/abc/`, or a folder plus the
 * start of a name such as `checkpoints/step-`. Every complete segment (before the last '/') follows the
 * key rules; the trailing partial segment may be anything a key segment may start with.
 */
export function validatePrefix(prefix: string): string {
  checkCharacters(prefix);
  if (prefix === '') return prefix;
  const segments = prefix.split('/');
  const partial = segments.pop()!;
  for (const segment of segments) checkSegment(prefix, segment);
  if (partial === '.' || partial === '..')
    throw new InvalidKeyError(prefix, `'${partial}' segments are not allowed`);
  return prefix;
}

/** Joins key parts with '/', ignoring empty parts and trailing slashes: joinKey('a/', 'b') = 'a/b'. */
export function joinKey(...parts: string[]): string {
  return parts
    .map((p) => p.replace(/\/+$/, ''))
    .filter((p) => p !== '')
    .join('/');
}

/**
 * The order of `list`: by the keys' UTF-8 bytes, which is S3's listing order. (JavaScript's default
 * sort compares UTF-16 code units and differs for characters outside the Basic Multilingual Plane.)
 */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
