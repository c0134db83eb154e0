/**
 * Reads an experiment file (YAML: .yaml/.yml, or JSON: .json) and validates it against the schema,
 * filling the paper's defaults. Every problem is a ConfigError naming the file, the field path, what
 * was expected and what was found, with its line and column in the file; an unknown key comes with the
 * nearest known one ("did you mean …?").
 *
 * @example
 *   const cfg = await loadExperimentFile('examples/fashion-mnist-small.yaml');
 *   const same = parseExperiment({ name: 'demo', dataset: { source: '/data' } }, 'inline');
 */
import { readFile } from 'node:fs/promises';
import { extname, resolve as resolvePath } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError, type ConfigIssue } from './errors';
import { toConfigIssues, type LocatableIssue } from './issues';
import { experimentSchema, type ExperimentConfig } from './schema';
import { combinationIssues } from './validate';

export { ConfigError, CONFIG_ERROR, type ConfigIssue } from './errors';

/** Finds the line and column of a field path in the source file. */
export type Locator = (
  path: readonly PropertyKey[],
  atKey?: boolean,
) => { line: number; column: number } | undefined;

const EXTENSIONS = ['.yaml', '.yml', '.json'];

/**
 * Validates an already-parsed object (from YAML, JSON or code) and returns it with defaults filled.
 * `sourceName` names it in errors (a file path, 'preset cifar10', …). Also checks the combinations
 * that cannot work (validate.ts), which need no knowledge of the data.
 */
export function parseExperiment(obj: unknown, sourceName: string, locate?: Locator): ExperimentConfig {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    const found =
      obj === null || obj === undefined
        ? 'nothing (empty file?)'
        : Array.isArray(obj)
          ? 'a list'
          : JSON.stringify(obj);
    throw new ConfigError(
      sourceName,
      `expected a mapping of settings (name, dataset, …) at the top level, found ${found}`,
    );
  }
  const result = experimentSchema.safeParse(obj, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(
      sourceName,
      byPosition(withPositions(toConfigIssues(result.error.issues, obj, experimentSchema), locate)),
    );
  }
  const issues = combinationIssues(result.data);
  if (issues.length > 0) throw new ConfigError(sourceName, byPosition(withPositions(issues, locate)));
  return result.data;
}

/** Reads, parses and validates the experiment file at `path`. */
export async function loadExperimentFile(path: string): Promise<ExperimentConfig> {
  const { text, json } = await readConfigText(path, 'experiment');
  return json ? parseJsonExperiment(text, path) : parseYamlExperiment(text, path);
}

/**
 * Reads a config file (experiment or sweep) as text, refusing other extensions; `json` tells which
 * parser applies. A missing or unreadable file is a ConfigError naming the file and why.
 */
export async function readConfigText(
  path: string,
  kind: 'experiment' | 'sweep',
): Promise<{ text: string; json: boolean }> {
  const what = `${kind} file`;
  const ext = extname(path).toLowerCase();
  if (!EXTENSIONS.includes(ext)) {
    throw new ConfigError(
      path,
      `expected ${kind === 'experiment' ? 'an' : 'a'} ${what} ending in ${EXTENSIONS.join(', ')}, found ${ext ? `'${ext}'` : 'no extension'}`,
    );
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory, not a file'
          : code === 'EACCES'
            ? 'permission denied'
            : (err as Error).message;
    throw new ConfigError(path, `cannot read the ${what}: ${why} (looked at ${resolvePath(path)})`);
  }
  return { text: text.replace(/^\uFEFF/, ''), json: ext === '.json' };
}

/** Parses YAML text; syntax errors are reported with their line and column. */
export function parseYamlExperiment(text: string, sourceName: string): ExperimentConfig {
  return parseYamlWith(text, sourceName, parseExperiment);
}

/** Parses JSON text; syntax errors are reported with their line and column. */
export function parseJsonExperiment(text: string, sourceName: string): ExperimentConfig {
  return parseJsonWith(text, sourceName, parseExperiment);
}

/**
 * Parses YAML text and hands the object, with a locator of its fields, to `build` (which validates
 * it); syntax errors are reported with their line and column. Shared by experiment and sweep files.
 */
export function parseYamlWith<T>(
  text: string,
  sourceName: string,
  build: (obj: unknown, sourceName: string, locate: Locator) => T,
): T {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // One error per position: the parser often reports a second symptom of the same mistake.
    const byPosition = new Map<string, ConfigIssue>();
    for (const e of doc.errors) {
      const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
      const message = e.message.split(/ at line \d+, column \d+/)[0];
      const key = `${pos.line}:${pos.col}`;
      if (!byPosition.has(key))
        byPosition.set(key, {
          path: '',
          message: `YAML syntax error (${e.code}): ${message}`,
          line: pos.line,
          column: pos.col,
        });
    }
    const issues = [...byPosition.values()];
    throw new ConfigError(
      sourceName,
      issues.length === 1 ? issues : issues.map((i) => ({ ...i, path: '(syntax)' })),
    );
  }
  let obj: unknown;
  try {
    obj = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError(sourceName, `YAML error: ${(err as Error).message}`);
  }
  return build(obj, sourceName, yamlLocator(doc, lineCounter));
}

/** parseYamlWith for JSON text: JSON syntax errors with their line and column, fields located. */
export function parseJsonWith<T>(
  text: string,
  sourceName: string,
  build: (obj: unknown, sourceName: string, locate: Locator) => T,
): T {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const m = /at position (\d+)/.exec(msg);
    const offset = m ? Number(m[1]) : text.length;
    const { line, column } = lineColumn(text, offset);
    throw new ConfigError(sourceName, [
      {
        path: '',
        message: `JSON syntax error: ${msg.replace(/ in JSON at position \d+.*$/, '')}`,
        line,
        column,
      },
    ]);
  }
  // JSON is YAML: its parser gives the positions of the fields for error messages.
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  return build(obj, sourceName, yamlLocator(doc, lineCounter));
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

/** Adds each issue's line and column (from `locate`) where it has none yet. */
export function withPositions(issues: LocatableIssue[], locate?: Locator): ConfigIssue[] {
  return issues.map(({ atKey, ...issue }) => {
    const pos = locate && issue.line === undefined ? locate(parsePath(issue.path), atKey) : undefined;
    return pos ? { ...issue, line: pos.line, column: pos.column } : issue;
  });
}

/** In file order when every issue has a position (easier to follow with the file open), else as found. */
export function byPosition(issues: ConfigIssue[]): ConfigIssue[] {
  if (issues.some((i) => i.line === undefined)) return issues;
  return [...issues].sort((a, b) => a.line! - b.line! || a.column! - b.column!);
}

/** 'fineTune.labelFractions[1]' → ['fineTune', 'labelFractions', 1]. */
export function parsePath(path: string): PropertyKey[] {
  const out: PropertyKey[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  return out;
}

/**
 * Position of a field: its value when it is a scalar (and `atKey` is false), otherwise its key; for a
 * missing field, the key of the nearest enclosing mapping that exists.
 */
function yamlLocator(doc: Document, lc: LineCounter): Locator {
  return (path, atKey = false) => {
    let node: unknown = doc.contents;
    let offset: number | undefined;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        offset = isScalar(pair.key) ? pair.key.range?.[0] : offset;
        node = pair.value;
        if (i === path.length - 1 && !atKey && isScalar(node) && node.range) offset = node.range[0];
      } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
        node = node.items[seg];
        const range = (node as { range?: [number, number, number] } | null)?.range;
        if (range) offset = range[0];
      } else {
        break;
      }
    }
    if (offset === undefined) return undefined;
    const { line, col } = lc.linePos(offset);
    return { line, column: col };
  };
}
