/**
 * Turns zod's validation issues into ConfigIssues a person can act on: the dotted field path, what was
 * expected and what was found, and for an unknown key the nearest known key ("did you mean …?"), also
 * when the key belongs in another section (`batchSize` at the top level → `pretrain.batchSize`).
 *
 * @example
 *   const r = experimentSchema.safeParse(raw, { reportInput: true });
 *   if (!r.success) throw new ConfigError(file, toConfigIssues(r.error.issues, raw, experimentSchema));
 */
import type { z } from 'zod';
import { redact } from '../storage/redact';
import type { ConfigIssue } from './errors';
import { closestMatches, didYouMean } from './suggest';

type Path = readonly PropertyKey[];

/** A ConfigIssue that may ask to be located at its key rather than its value (unknown keys). */
export interface LocatableIssue extends ConfigIssue {
  atKey?: boolean;
}
type Issue = z.core.$ZodIssue;
type AnySchema = z.core.$ZodType;

/** Keys that resolve.ts derives: a config file may not set them. */
const DERIVED_KEYS: Record<string, string> = {
  'pretrain.effectiveLearningRate':
    'derived from pretrain.learningRate, learningRateScaling and batchSize; set those instead',
};

/** `pretrain.batchSize`, `fineTune.labelFractions[1]`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/** How a found value reads in a message: strings quoted, lists and mappings named, a missing field said so. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (value === null) return 'null (an empty value)';
  if (typeof value === 'string') {
    const shown = redact(value); // a source URI with credentials must not be echoed back
    return JSON.stringify(shown.length > 60 ? `${shown.slice(0, 57)}...` : shown);
  }
  if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/** The value at `path` in the raw input (undefined when any step is missing). */
export function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

function def(schema: AnySchema): Record<string, unknown> {
  return schema._zod.def as unknown as Record<string, unknown>;
}

/** Strips default/prefault/optional/nullable wrappers and transform pipes down to the structural schema. */
function unwrap(schema: AnySchema): AnySchema {
  let s = schema;
  for (let guard = 0; guard < 32; guard++) {
    const d = def(s);
    if (d.innerType) s = d.innerType as AnySchema;
    else if (d.type === 'pipe') s = d.in as AnySchema;
    else break;
  }
  return s;
}

function shapeOf(schema: AnySchema): Record<string, AnySchema> | undefined {
  const d = def(schema);
  return d.type === 'object' ? (d.shape as Record<string, AnySchema>) : undefined;
}

/** Known keys of the mapping at `path` in `root`, or undefined when that is not a mapping. */
export function knownKeysAt(root: AnySchema, path: Path): string[] | undefined {
  let s = unwrap(root);
  for (const seg of path) {
    const shape = shapeOf(s);
    if (shape) {
      const next = shape[String(seg)];
      if (!next) return undefined;
      s = unwrap(next);
    } else if (def(s).type === 'array') {
      s = unwrap(def(s).element as AnySchema);
    } else {
      return undefined;
    }
  }
  const shape = shapeOf(s);
  return shape ? Object.keys(shape) : undefined;
}

/** Every key path of the schema's nested mappings, e.g. 'pretrain.batchSize'. */
export function allKeyPaths(root: AnySchema, prefix: string[] = []): string[][] {
  const shape = shapeOf(unwrap(root));
  if (!shape) return [];
  return Object.entries(shape).flatMap(([k, child]) => [
    [...prefix, k],
    ...allKeyPaths(child, [...prefix, k]),
  ]);
}

function unknownKeyMessage(root: AnySchema, parent: Path, key: string): string {
  const full = formatPath([...parent, key]);
  if (DERIVED_KEYS[full]) return `not a setting: ${DERIVED_KEYS[full]}`;
  const siblings = knownKeysAt(root, parent) ?? [];
  const near = didYouMean(key, siblings);
  if (near) return `unknown key${near}`;
  // The key may belong to another section: same name (up to spelling) elsewhere in the tree.
  const elsewhere = allKeyPaths(root)
    .filter((p) => closestMatches(key, [p[p.length - 1]]).length > 0 || p[p.length - 1] === key)
    .map((p) => p.join('.'))
    .filter((p) => p !== full);
  if (elsewhere.length > 0) return `unknown key here${didYouMeanPaths(elsewhere)}`;
  return `unknown key; known keys here: ${siblings.join(', ')}`;
}

function didYouMeanPaths(paths: string[]): string {
  const list = paths.slice(0, 4);
  const text = list.length === 1 ? list[0] : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
  return ` (did you mean ${text}?)`;
}

const TYPE_NAMES: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
};

function bound(issue: { origin?: unknown; inclusive?: boolean }, op: 'min' | 'max', limit: unknown): string {
  const n = typeof limit === 'bigint' ? limit.toString() : String(limit);
  if (issue.origin === 'array' || issue.origin === 'set')
    return `${op === 'min' ? 'at least' : 'at most'} ${n} item(s)`;
  if (issue.origin === 'string') return `${op === 'min' ? 'at least' : 'at most'} ${n} character(s)`;
  const sign = op === 'min' ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
  return `a number ${sign} ${n}`;
}

/** What the issue expected, in words, or undefined when zod's own message says it better. */
function expectation(issue: Issue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return TYPE_NAMES[issue.expected] ?? issue.expected;
    case 'too_small':
      return bound(issue, 'min', issue.minimum);
    case 'too_big':
      return bound(issue, 'max', issue.maximum);
    case 'invalid_value':
      return issue.values.length === 1
        ? JSON.stringify(issue.values[0])
        : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union': {
      const values = issue.errors.flat().flatMap((e) => (e.code === 'invalid_value' ? e.values : []));
      return values.length > 0 ? `one of ${values.map((v) => JSON.stringify(v)).join(', ')}` : undefined;
    }
    case 'invalid_format':
      return issue.message.startsWith('Invalid')
        ? `a string matching ${issue.pattern ?? issue.format}`
        : issue.message;
    case 'not_multiple_of':
      return `a multiple of ${String(issue.divisor)}`;
    default:
      return undefined;
  }
}

/** Candidate strings for "did you mean" on a wrong enum value. */
function enumCandidates(issue: Issue): string[] {
  if (issue.code === 'invalid_value') return issue.values.filter((v): v is string => typeof v === 'string');
  return [];
}

/**
 * One ConfigIssue per problem, in zod's order. `raw` is the parsed file (for the found values), `root`
 * the schema it was checked against (for the known keys).
 */
export function toConfigIssues(issues: readonly Issue[], raw: unknown, root: AnySchema): LocatableIssue[] {
  const out: LocatableIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({
          path: formatPath([...issue.path, key]),
          message: unknownKeyMessage(root, issue.path, key),
          atKey: true,
        });
      }
      continue;
    }
    const found = valueAt(raw, issue.path);
    const expected = expectation(issue);
    let message: string;
    if (issue.code === 'custom') {
      message = `${issue.message}, found ${describeValue(found)}`;
    } else if (expected !== undefined) {
      message =
        found === undefined
          ? `required: expected ${expected}, found nothing`
          : `expected ${expected}, found ${describeValue(found)}`;
      if (typeof found === 'string') message += didYouMean(found, enumCandidates(issue));
    } else {
      message = `${issue.message}; found ${describeValue(found)}`;
    }
    out.push({ path: formatPath(issue.path), message });
  }
  return out;
}
