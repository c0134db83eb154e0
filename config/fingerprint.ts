/**
 * Content fingerprints of JSON-like values, for the ids that make activities idempotent: dataset ids,
 * augmentation ids, checkpoint config hashes. Equal values give equal fingerprints whatever the key
 * order; any change of a value, a key or an array order changes it.
 *
 * @example
 *   fingerprint({ b: 1, a: [1, 2] }) === fingerprint({ a: [1, 2], b: 1 }); // true
 *   fingerprint({ source, imageSize: 28 });                               // '3f9c…' (16 hex digits)
 */
import { createHash } from 'node:crypto';

/**
 * JSON with the keys of every object sorted (by UTF-16 code units, as Array.prototype.sort does).
 * Like JSON.stringify, object keys whose value is undefined are left out and `toJSON` is honoured.
 * Throws on what has no stable JSON form: NaN/±Infinity, bigint, functions, symbols, Map/Set and cycles.
 */
export function stableStringify(value: unknown): string {
  return write(value, new Set(), '$');
}

function write(value: unknown, stack: Set<object>, at: string): string {
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  ) {
    value = (value as { toJSON: () => unknown }).toJSON();
  }
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError(`stableStringify: ${at} is ${value}, which has no JSON form`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`stableStringify: ${at} is a ${typeof value}, which has no JSON form`);
  }
  const obj = value as object;
  if (obj instanceof Map || obj instanceof Set)
    throw new TypeError(
      `stableStringify: ${at} is a ${obj.constructor.name}; convert it to an array or object first`,
    );
  if (stack.has(obj)) throw new TypeError(`stableStringify: ${at} refers back to itself (a cycle)`);
  stack.add(obj);
  let out: string;
  if (Array.isArray(obj)) {
    out = `[${Array.from(obj, (v: unknown, i) => (v === undefined ? 'null' : write(v, stack, `${at}[${i}]`))).join(',')}]`;
  } else {
    const record = obj as Record<string, unknown>;
    const parts = Object.keys(record)
      .sort()
      .filter((k) => record[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${write(record[k], stack, `${at}.${k}`)}`);
    out = `{${parts.join(',')}}`;
  }
  stack.delete(obj);
  return out;
}

/** First 16 hex digits (64 bits) of the SHA-256 of stableStringify(value). */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(stableStringify(value), 'utf8').digest('hex').slice(0, 16);
}
