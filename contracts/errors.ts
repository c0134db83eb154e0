/**
 * The failures no retry can fix: bad config, bad data, a checkpoint of another config, a diverged loss,
 * an invalid storage key, a corrupt shard. Each is a class with a stable `type` (its `name`, which
 * Temporal reports as ApplicationFailure.type); the list of non-retryable types that the workflows put
 * in their retry policies is derived from the classes, so a new class cannot be forgotten in one place.
 *
 * Light on purpose (no node: imports, no tfjs, no Temporal): workflows, activities, simclr/ and
 * storage/ all import it. The modules these classes used to live in re-export them.
 *
 * @example
 *   throw new DatasetError(`dataset.source: '${path}' is a file; expected a folder`);
 *   // an activity's guard() turns it into ApplicationFailure.nonRetryable(message, 'DatasetError')
 */

/** Name of the config error type, as Temporal reports it (ApplicationFailure.type). */
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

/**
 * A bad experiment config: a wrong value, an unknown key, a YAML syntax error, a missing file, a
 * combination that cannot work.
 *
 * @example
 *   throw new ConfigError('exp.yaml', [{ path: 'pretrain.batchSize', message: 'expected at least 2, found 1' }]);
 *   // ConfigError: Invalid experiment config exp.yaml:
 *   //   - pretrain.batchSize: expected at least 2, found 1
 */
export class ConfigError extends Error {
  static readonly type = CONFIG_ERROR;
  /** Stable, independent of class-name mangling: Temporal matches non-retryable types by it. */
  override readonly name = ConfigError.type;
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

/**
 * A problem with the source data that no retry can fix: a missing or unreadable source, a file where
 * a folder is expected, a malformed IDX or CIFAR file, no labels where evaluation needs them. The
 * message names the file or the config field.
 */
export class DatasetError extends Error {
  static readonly type = 'DatasetError';
  override readonly name = DatasetError.type;
}

/** The checkpoint was written for another configuration than the one it is restored into. */
export class CheckpointMismatchError extends Error {
  static readonly type = 'CheckpointMismatchError';
  override readonly name = CheckpointMismatchError.type;
  constructor(
    readonly key: string,
    readonly differences: string[],
  ) {
    super(
      `checkpoint ${key} was written for a different configuration (${differences.join('; ')}); ` +
        'start a new experiment or restore it with the configuration it was written with',
    );
  }
}

/** Pretraining diverged: the loss was not a finite number. Not worth retrying with the same settings. */
export class DivergedError extends Error {
  static readonly type = 'DivergedError';
  override readonly name = DivergedError.type;
}

/** The key is not a valid relative key (absolute, empty segment, '..', backslash, NUL ...). */
export class InvalidKeyError extends Error {
  static readonly type = 'InvalidKeyError';
  override readonly name = InvalidKeyError.type;
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`invalid storage key '${key}': ${reason}`);
  }
}

/**
 * A stored shard (dataset shard or augmentation views) that is not a valid shard: too short, wrong
 * magic, unsupported version, corrupt header, checksum mismatch. Reading it again gives the same bytes;
 * the object has to be rewritten (or the dataset re-sharded), not the read retried.
 */
export class CorruptShardError extends Error {
  static readonly type = 'CorruptShardError';
  override readonly name = CorruptShardError.type;
  constructor(
    /** The key or file name of the shard. */
    readonly shard: string,
    reason: string,
  ) {
    super(`${shard}: ${reason}`);
  }
}

/**
 * A stored object that exists but fails its integrity check (a manifest that is not JSON; shards have
 * CorruptShardError): reading it again gives the same bytes. Its producer must write it again: the
 * message names the key and the store.
 */
export class CorruptObjectError extends Error {
  static readonly type = 'CorruptObjectError';
  override readonly name = CorruptObjectError.type;
  constructor(
    readonly key: string,
    readonly location: string,
    reason: string,
  ) {
    super(`object '${key}' in ${location} is corrupt (${reason})`);
  }
}

/**
 * The model to embed with cannot be found: no run of that id has a checkpoint in the store, or the
 * folder given as an exported model holds no model.json. The message names the run or the folder.
 */
export class ModelNotFoundError extends Error {
  static readonly type = 'ModelNotFoundError';
  override readonly name = ModelNotFoundError.type;
}

/** Every error class whose failures are not retried. Add a class here and every retry policy follows. */
export const NON_RETRYABLE_ERROR_CLASSES = [
  ConfigError,
  DatasetError,
  CheckpointMismatchError,
  DivergedError,
  InvalidKeyError,
  CorruptShardError,
  CorruptObjectError,
  ModelNotFoundError,
] as const;

export type NonRetryableError = InstanceType<(typeof NON_RETRYABLE_ERROR_CLASSES)[number]>;

/** The ApplicationFailure types of those classes, for `retry.nonRetryableErrorTypes`. */
export const NON_RETRYABLE_ERRORS: string[] = NON_RETRYABLE_ERROR_CLASSES.map((c) => c.type);

/** True for an instance of one of the non-retryable classes (by class, not by name string). */
export function isNonRetryableError(err: unknown): err is NonRetryableError {
  return NON_RETRYABLE_ERROR_CLASSES.some((c) => err instanceof c);
}
