/**
 * `simclr list` filters as a Temporal visibility query (the same query the web UI's filter bar takes,
 * so a filter that works here can be pasted there): --stage, --schedule, --status, --since, --encoder,
 * --dataset, each ANDed with the experiment workflow type.
 */
import { SA_DATASET, SA_ENCODER, SA_SCHEDULE, SA_STAGE } from '../workflows/search-attributes';
import { STAGES, type Stage } from '../contracts';
import { CliError, EXIT_USAGE } from './output';

export interface ListFilters {
  stage?: string;
  schedule?: string;
  status?: string;
  since?: string;
  encoder?: string;
  dataset?: string;
}

export const STAGE_NAMES: readonly Stage[] = STAGES;

/** --status values and the ExecutionStatus each names. */
export const STATUS_NAMES: Record<string, string> = {
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Canceled',
  canceled: 'Canceled',
  terminated: 'Terminated',
  'timed-out': 'TimedOut',
  'continued-as-new': 'ContinuedAsNew',
};

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `--since 24h` (s, m, h, d, w) or an ISO date/time: the earliest start time, as an ISO string. */
export function sinceTime(value: string, now: Date): string {
  const rel = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(value);
  if (rel) return new Date(now.getTime() - Number(rel[1]) * UNIT_SECONDS[rel[2]] * 1000).toISOString();
  const abs = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : undefined;
  if (!abs || Number.isNaN(abs.getTime()))
    throw new CliError(
      `--since ${value}: expected a duration back from now (30m, 24h, 7d, 2w) or a date (2026-11-29, 2026-11-29T08:00Z)`,
      EXIT_USAGE,
    );
  return abs.toISOString();
}

/** A keyword value for the query: refused when it could break out of its quotes. */
function keyword(flag: string, value: string): string {
  if (!/^[\w.:/@+-]+$/.test(value))
    throw new CliError(
      `--${flag} ${JSON.stringify(value)}: letters, digits and . _ - : / @ + only`,
      EXIT_USAGE,
    );
  return `'${value}'`;
}

/** The visibility query for the experiments that pass every filter. */
export function listQuery(workflowType: string, f: ListFilters, now = new Date()): string {
  const terms = [`WorkflowType = '${workflowType}'`];
  if (f.stage !== undefined) {
    if (!(STAGE_NAMES as string[]).includes(f.stage))
      throw new CliError(`--stage ${f.stage}: expected one of ${STAGE_NAMES.join(', ')}`, EXIT_USAGE);
    terms.push(`${SA_STAGE.name} = '${f.stage}'`);
  }
  if (f.status !== undefined) {
    const status = STATUS_NAMES[f.status.toLowerCase()];
    if (!status)
      throw new CliError(
        `--status ${f.status}: expected one of ${Object.keys(STATUS_NAMES).join(', ')}`,
        EXIT_USAGE,
      );
    terms.push(`ExecutionStatus = '${status}'`);
  }
  if (f.schedule !== undefined) terms.push(`${SA_SCHEDULE.name} = ${keyword('schedule', f.schedule)}`);
  if (f.encoder !== undefined) terms.push(`${SA_ENCODER.name} = ${keyword('encoder', f.encoder)}`);
  if (f.dataset !== undefined) terms.push(`${SA_DATASET.name} = ${keyword('dataset', f.dataset)}`);
  if (f.since !== undefined) terms.push(`StartTime >= '${sinceTime(f.since, now)}'`);
  return terms.join(' AND ');
}
