/**
 * Argument parsing shared by every verb (node:util parseArgs, strict): the flags every verb takes
 * (--json, --help) and those of every verb that talks to Temporal (--address, --namespace).
 */
import { parseArgs } from 'node:util';
import { CliError, EXIT_USAGE } from './output';

export type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };

/** --json: one JSON document on stdout; --help: the verb's usage. */
export const COMMON_OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Where Temporal is: flags override TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (infra/temporal-connection.ts). */
export const TEMPORAL_OPTIONS = {
  address: { type: 'string' },
  namespace: { type: 'string' },
} as const;

export const TEMPORAL_USAGE = `  --address HOST:PORT   Temporal frontend (env TEMPORAL_ADDRESS, default 127.0.0.1:7233)
  --namespace NAME      Temporal namespace (env TEMPORAL_NAMESPACE, default 'default')
  --json                print exactly one JSON document on stdout`;

/** Parses one verb's arguments; unknown flags and missing values are usage errors (exit 2) that show the usage. */
export function parseCommand<const O extends Record<string, OptionSpec>>(
  argv: string[],
  options: O,
  usage: string,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${usage}`, EXIT_USAGE);
  }
}

/** Exactly `names.length` positionals, or a usage error naming the missing one. */
export function positionals(values: string[], names: string[], usage: string): string[] {
  if (values.length < names.length)
    throw new CliError(`missing <${names[values.length]}>\n\n${usage}`, EXIT_USAGE);
  if (values.length > names.length)
    throw new CliError(`unexpected argument '${values[names.length]}'\n\n${usage}`, EXIT_USAGE);
  return values;
}

/** A positive integer flag, or a usage error naming the flag. */
export function positiveIntFlag(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new CliError(`--${flag} must be a positive integer, got '${value}'`, EXIT_USAGE);
  return n;
}
