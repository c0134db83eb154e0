/**
 * The one error type for a bad experiment config: a wrong value, an unknown key, a YAML syntax error, a
 * missing file, a combination that cannot work. Retrying never fixes it, so Temporal retry policies list
 * it as non-retryable by its stable name: `nonRetryableErrorTypes: [CONFIG_ERROR]` (an activity's thrown
 * error becomes an ApplicationFailure whose type is `error.name`).
 *
 * Free of node: imports, so workflows (sandboxed) can use it too.
 *
 * @example
 *   throw new ConfigError('exp.yaml', [{ path: 'pretrain.batchSize', message: 'expected at least 2, found 1' }]);
 *   // ConfigError: Invalid experiment config exp.yaml:
 *   //   - pretrain.batchSize: expected at least 2, found 1
 */

/** Name of the error type, as Temporal reports it (ApplicationFailure.type). */
export const CONFIG_ERROR = 'ConfigError';

/** One problem: where (a dotted field path, '' for the whole file) and what was expected / found. */
export interface ConfigIssue {
  /** e.g. 'pretrain.batchSize', 'fineTune.labelFractions[1]'; '' for the file as a whole. */
  path: string;
  message: string;
  /** 1-based position in the source file, when known. */
  line?: number;
  column?: number;
}

export class ConfigError extends Error {
  /** Stable, independent of class-name mangling: Temporal matches non-retryable types by it. */
  override readonly name = CONFIG_ERROR;
  /** The file (or other source) the config came from. */
  readonly source: string;
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[] | string) {
    const list = typeof issues === 'string' ? [{ path: '', message: issues }] : issues;
    super(formatConfigIssues(source, list));
    this.source = source;
    this.issues = list;
  }
}

/** `Invalid experiment config <source>:` then one line per issue (or a single line for a single file-level issue). */
export function formatConfigIssues(source: string, issues: readonly ConfigIssue[]): string {
  if (issues.length === 1 && issues[0].path === '') {
    const i = issues[0];
    const at = i.line === undefined ? '' : `:${i.line}:${i.column ?? 1}`;
    return `${source}${at}: ${i.message}`;
  }
  const lines = issues.map((i) => {
    const where = i.line === undefined ? '' : ` (line ${i.line}, column ${i.column ?? 1})`;
    return `  - ${i.path || '(top level)'}${where}: ${i.message}`;
  });
  const count = issues.length === 1 ? '' : ` (${issues.length} problems)`;
  return `Invalid experiment config ${source}${count}:\n${lines.join('\n')}`;
}
