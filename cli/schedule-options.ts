/**
 * The flags of `simclr schedule create|update`, checked and turned into what a Temporal Schedule takes:
 * its spec (a cron expression or an interval), its overlap policy, and the retrain options that travel
 * in the action's input (contracts/retrain.ts). Every mistake is a one-line usage error (exit 2).
 */
import type { ScheduleOverlapPolicy } from '@temporalio/client';
import { DEFAULT_PROMOTION_TOLERANCE_POINTS } from '../contracts/retrain';
import { CliError, EXIT_USAGE } from './output';

/** A schedule name: one key segment under models/ and the prefix of its runs' experiment ids. */
export const SCHEDULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The --overlap values, as Temporal names them. */
export const OVERLAP_POLICIES: Record<string, ScheduleOverlapPolicy> = {
  skip: 'SKIP',
  'buffer-one': 'BUFFER_ONE',
  'buffer-all': 'BUFFER_ALL',
  'cancel-other': 'CANCEL_OTHER',
  'terminate-other': 'TERMINATE_OTHER',
  'allow-all': 'ALLOW_ALL',
};

/** `skip` for `SKIP`: the flag's spelling of a policy Temporal reports. */
export function overlapFlag(policy: string | undefined): string {
  return Object.entries(OVERLAP_POLICIES).find(([, p]) => p === policy)?.[0] ?? String(policy).toLowerCase();
}

const usageError = (message: string) => new CliError(message, EXIT_USAGE);

export function checkScheduleName(name: string): string {
  if (!SCHEDULE_NAME.test(name))
    throw usageError(
      `schedule name '${name}': letters, digits, '.', '_' and '-' only, starting with a letter or digit, at most 64`,
    );
  return name;
}

/** `--every 24h` etc.: a positive whole number of s, m, h or d (Temporal's interval). */
const EVERY = /^([1-9]\d*)(s|m|h|d)$/;

export type ScheduleWhen = { cron: string } | { every: string };

/** Exactly one of --cron / --every (or neither, when `required` is false: update keeps the old spec). */
export function scheduleWhen(
  flags: { cron?: string; every?: string },
  required: boolean,
): ScheduleWhen | undefined {
  if (flags.cron !== undefined && flags.every !== undefined)
    throw usageError('give either --cron or --every, not both');
  if (flags.every !== undefined) {
    if (!EVERY.test(flags.every))
      throw usageError(
        `--every '${flags.every}': expected a whole number with s, m, h or d (e.g. 24h, 30m, 7d)`,
      );
    return { every: flags.every };
  }
  if (flags.cron !== undefined) {
    if (flags.cron.trim().split(/\s+/).length < 5 && !flags.cron.trim().startsWith('@'))
      throw usageError(
        `--cron '${flags.cron}': expected five fields (minute hour day-of-month month day-of-week)`,
      );
    return { cron: flags.cron.trim() };
  }
  if (required)
    throw usageError('say when to retrain: --cron "<expression>" or --every <interval> (e.g. 24h)');
  return undefined;
}

export function overlapPolicy(flag: string | undefined): ScheduleOverlapPolicy | undefined {
  if (flag === undefined) return undefined;
  const policy = OVERLAP_POLICIES[flag];
  if (!policy)
    throw usageError(`--overlap '${flag}': expected one of ${Object.keys(OVERLAP_POLICIES).join(', ')}`);
  return policy;
}

/** --tolerance POINTS: linear top-1 percentage points a new encoder may lose and still be promoted. */
export function tolerancePoints(flag: string | undefined): number | undefined {
  if (flag === undefined) return undefined;
  const n = Number(flag);
  if (flag.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100)
    throw usageError(`--tolerance '${flag}': expected percentage points between 0 and 100 (e.g. 0.5)`);
  return n;
}

export { DEFAULT_PROMOTION_TOLERANCE_POINTS };
