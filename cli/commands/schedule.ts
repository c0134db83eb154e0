/**
 * `simclr schedule <verb>`: scheduled retraining on Temporal Schedules (no cron of our own). A schedule
 * starts the `retrain` workflow (workflows/retrain.ts) with the experiment config and the schedule's
 * options; the run skips when the dataset and config are unchanged since the schedule's last successful
 * run, else trains (warm-starting when asked), records its lineage and promotes its encoder when good
 * enough. `trigger` runs the schedule's action now, as a scheduled run; `trigger --force` retrains even
 * when nothing changed (that run's input carries `trigger: 'manual'`).
 */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleHandle,
  type ScheduleOptionsAction,
  type ScheduleSpec,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import { webUiUrl } from '../../infra/temporal-connection';
import { retrain } from '../../workflows/retrain';
import { SA_SCHEDULE } from '../../workflows/search-attributes';
import {
  CPU_QUEUE,
  DEFAULT_PROMOTION_TOLERANCE_POINTS,
  type RetrainInput,
  type RetrainOptions,
  type RetrainResult,
} from '../../contracts';
import { COMMON_OPTIONS, parseCommand, positionals, TEMPORAL_OPTIONS, TEMPORAL_USAGE } from '../args';
import { connectTemporal, firstLine, resolveTarget, type TemporalSession } from '../connect';
import { formatTimestamp, table } from '../format';
import { experimentStore } from '../launch';
import { CliError, EXIT_OK, EXIT_USAGE, type Output } from '../output';
import {
  checkScheduleName,
  overlapFlag,
  overlapPolicy,
  scheduleWhen,
  tolerancePoints,
  type ScheduleWhen,
} from '../schedule-options';
import { loadConfig } from './run';

export const usage = `usage: simclr schedule <verb> [options]

  create <name> --config f.yaml (--cron "EXPR" | --every 24h) [--overlap POLICY] [--warm-start]
         [--pause-on-failure] [--force] [--tolerance POINTS] [--paused]
  update <name> [--config f.yaml] [--cron "EXPR" | --every D] [--overlap POLICY] [--warm-start | --no-warm-start]
         [--pause-on-failure | --no-pause-on-failure] [--force | --no-force] [--tolerance POINTS]
  list
  describe <name>
  pause <name> [--note TEXT]
  unpause <name> [--note TEXT]
  trigger <name> [--force] [--wait]
  backfill <name> --from ISO-TIME --to ISO-TIME
  delete <name>

  --overlap POLICY      skip (default) | buffer-one | buffer-all | cancel-other | terminate-other | allow-all:
                        what a run due while the previous one still runs does
  --warm-start          pretrain from the latest checkpoint of the schedule's previous successful run
  --pause-on-failure    pause the schedule when a run fails
  --force               retrain even when the dataset and config are unchanged since the last successful
                        run (on create/update: every run; on trigger: this run, marked 'manual')
  --tolerance POINTS    promote a run's encoder unless its linear top-1 is worse than the current model's
                        by more than POINTS percentage points (default ${DEFAULT_PROMOTION_TOLERANCE_POINTS})
  --wait                trigger: wait for the run and print its outcome (skipped and why, or its results)
${TEMPORAL_USAGE}

A run of schedule <name> is the workflow retrain-<name>-<time>; its experiment is <name>-<YYYYMMDD-HHMMSS>.
Both carry the search attribute SimclrSchedule=<name>. Promotions: simclr models <name>.`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...TEMPORAL_OPTIONS,
  config: { type: 'string' },
  cron: { type: 'string' },
  every: { type: 'string' },
  overlap: { type: 'string' },
  'warm-start': { type: 'boolean' },
  'no-warm-start': { type: 'boolean' },
  'pause-on-failure': { type: 'boolean' },
  'no-pause-on-failure': { type: 'boolean' },
  force: { type: 'boolean' },
  'no-force': { type: 'boolean' },
  tolerance: { type: 'string' },
  paused: { type: 'boolean' },
  note: { type: 'string' },
  wait: { type: 'boolean' },
  from: { type: 'string' },
  to: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseCommand<typeof OPTIONS>>['values'];

/** Which flags each verb takes (besides --json, --help, --address, --namespace). */
const VERB_FLAGS: Record<string, (keyof typeof OPTIONS)[]> = {
  create: [
    'config',
    'cron',
    'every',
    'overlap',
    'warm-start',
    'pause-on-failure',
    'force',
    'tolerance',
    'paused',
  ],
  update: [
    'config',
    'cron',
    'every',
    'overlap',
    'warm-start',
    'no-warm-start',
    'pause-on-failure',
    'no-pause-on-failure',
    'force',
    'no-force',
    'tolerance',
  ],
  list: [],
  describe: [],
  pause: ['note'],
  unpause: ['note'],
  trigger: ['force', 'wait'],
  backfill: ['from', 'to'],
  delete: [],
};

/** The base of a schedule's run ids: Temporal appends `-<scheduled time>`. */
export const retrainWorkflowId = (name: string) => `retrain-${name}`;

function specOf(when: ScheduleWhen): ScheduleSpec {
  return 'cron' in when ? { cronExpressions: [when.cron] } : { intervals: [{ every: when.every as '1d' }] };
}

/** Both --x and --no-x is a usage error; otherwise true, false or undefined (unchanged). */
function toggle(values: Values, name: 'warm-start' | 'pause-on-failure' | 'force'): boolean | undefined {
  const yes = values[name];
  const no = values[`no-${name}`];
  if (yes && no) throw new CliError(`give --${name} or --no-${name}, not both`, EXIT_USAGE);
  return yes ? true : no ? false : undefined;
}

function notFound(name: string): CliError {
  return new CliError(
    `no schedule named '${name}': see 'simclr schedule list', or create it with 'simclr schedule create'`,
  );
}

/** Runs `body`, turning the schedule client's expected errors into one-line messages. */
async function expected<T>(name: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw notFound(name);
    if (err instanceof ScheduleAlreadyRunning)
      throw new CliError(
        `a schedule named '${name}' already exists: change it with 'simclr schedule update ${name}'`,
      );
    // The server's reason is in the cause of the SDK's ServiceError ('Failed to create schedule').
    const cause = (err as { cause?: unknown }).cause;
    const msg = cause
      ? `${firstLine(err)}: ${firstLine(cause).replace(/^\d+ [A-Z_]+: /, '')}`
      : firstLine(err);
    if (/search attribute/i.test(msg))
      throw new CliError(
        `${msg}; register it: temporal operator search-attribute create --name ${SA_SCHEDULE.name} --type Keyword ` +
          `(a dev server started by 'simclr services up' has it)`,
      );
    if (/invalid|malformed|parse/i.test(msg)) throw new CliError(`schedule '${name}': ${msg}`, EXIT_USAGE);
    throw err;
  }
}

/** The retrain input of a schedule (its action's first argument). */
function retrainInputOf(d: ScheduleDescription): RetrainInput {
  const input = d.action.args?.[0] as RetrainInput | undefined;
  if (d.action.workflowType !== 'retrain' || !input?.config)
    throw new CliError(
      `schedule '${d.scheduleId}' does not start simclr retraining runs (it starts ${d.action.workflowType})`,
    );
  return input;
}

function actionOf(name: string, input: RetrainInput): ScheduleOptionsAction {
  return {
    type: 'startWorkflow',
    workflowType: retrain,
    workflowId: retrainWorkflowId(name),
    taskQueue: CPU_QUEUE,
    args: [input],
    typedSearchAttributes: [{ key: SA_SCHEDULE, value: name }],
    staticSummary: `SimCLR scheduled retraining '${name}' of ${input.config.name}`,
  };
}

/** A schedule's spec in words: 'every 24h', 'cron "0 3 * * *"' (Temporal returns a cron as a calendar). */
export function describeSpec(d: Pick<ScheduleDescription, 'spec'>): string {
  const parts: string[] = [];
  for (const i of d.spec.intervals ?? []) parts.push(`every ${intervalText(Number(i.every))}`);
  for (const c of d.spec.calendars ?? []) parts.push(calendarText(c));
  return parts.join('; ') || '(no times)';
}

/** 86400000 → '24h', 172800000 → '2d', 1800000 → '30m'. */
function intervalText(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
  ];
  // Whole days from two on; a day reads as 24h, the way `--every 24h` wrote it.
  const [size, unit] = units.find(([u, n]) => ms % u === 0 && (n !== 'd' || ms >= 2 * u)) ?? [1, 'ms'];
  return `${ms / size}${unit}`;
}

type CalendarRanges = { start: number | string; end?: number | string; step?: number }[];

/** A calendar as a cron line (`second` first when it is not 0): '*' for a field's full range. */
function calendarText(c: NonNullable<ScheduleDescription['spec']['calendars']>[number]): string {
  const full: Record<string, [number | string, number | string]> = {
    dayOfMonth: [1, 31],
    month: ['JANUARY', 'DECEMBER'],
    dayOfWeek: ['SUNDAY', 'SATURDAY'],
  };
  const field = (name: string, ranges: CalendarRanges | undefined): string => {
    if (!ranges || ranges.length === 0) return '*';
    return ranges
      .map((r) => {
        const end = r.end ?? r.start;
        if (full[name] && r.start === full[name][0] && end === full[name][1] && (r.step ?? 1) === 1)
          return '*';
        const short = (v: number | string) =>
          typeof v === 'string' ? v.slice(0, 3).toLowerCase() : String(v);
        return (
          (end === r.start ? short(r.start) : `${short(r.start)}-${short(end)}`) +
          ((r.step ?? 1) > 1 ? `/${r.step}` : '')
        );
      })
      .join(',');
  };
  const cal = c as unknown as Record<string, CalendarRanges | undefined>;
  const second = field('second', cal.second);
  const cron = ['minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek'].map((f) => field(f, cal[f])).join(' ');
  return `cron "${second === '0' ? '' : `${second} `}${cron}"`;
}

/** The runs of a schedule, newest first, with their outcome (skipped and why, or the experiment's results). */
async function scheduleRuns(client: Client, name: string, limit = 10) {
  const runs = [];
  const query = `WorkflowType = 'retrain' AND SimclrSchedule = '${name}'`;
  for await (const wf of client.workflow.list({ query })) {
    runs.push(wf);
    if (runs.length >= limit * 4) break;
  }
  runs.sort((a, b) => b.startTime.getTime() - a.startTime.getTime());
  return Promise.all(
    runs.slice(0, limit).map(async (wf) => {
      let result: RetrainResult | undefined;
      if (wf.status.name === 'COMPLETED')
        result = await client.workflow
          .getHandle<typeof retrain>(wf.workflowId, wf.runId)
          .result()
          .catch(() => undefined);
      return {
        workflowId: wf.workflowId,
        runId: wf.runId,
        status: wf.status.name,
        startTime: wf.startTime.toISOString(),
        closeTime: wf.closeTime?.toISOString() ?? null,
        outcome: result?.status ?? null,
        reason: result?.reason ?? null,
        experimentId: result?.experimentId ?? null,
        linearTop1: result?.linearTop1 ?? null,
        promoted: result?.promotion?.promoted ?? null,
      };
    }),
  );
}

async function create(session: TemporalSession, name: string, values: Values, out: Output) {
  if (!values.config) throw new CliError('create needs --config <experiment.yaml>', EXIT_USAGE);
  const when = scheduleWhen(values, true)!;
  const overlap = overlapPolicy(values.overlap) ?? 'SKIP';
  const options: RetrainOptions = {
    warmStart: values['warm-start'] ?? false,
    force: values.force ?? false,
    promotionTolerancePoints: tolerancePoints(values.tolerance) ?? DEFAULT_PROMOTION_TOLERANCE_POINTS,
  };
  const config = await loadConfig(values.config);
  const store = await experimentStore(out);
  const input: RetrainInput = {
    schedule: name,
    config,
    options,
    ...(store ? { store } : {}),
    ...(webUiUrl(session.target, '') ? { webUiBase: webUiUrl(session.target, '') } : {}),
  };
  await expected(name, () =>
    session.client.schedule.create({
      scheduleId: name,
      spec: specOf(when),
      action: actionOf(name, input),
      policies: { overlap, pauseOnFailure: values['pause-on-failure'] ?? false },
      state: { paused: values.paused ?? false, note: `created by simclr from ${values.config}` },
      memo: { configFile: values.config },
    }),
  );
  return describe(session, name, out, `created schedule ${name}`);
}

async function update(session: TemporalSession, name: string, values: Values, out: Output) {
  const when = scheduleWhen(values, false);
  const overlap = overlapPolicy(values.overlap);
  const tolerance = tolerancePoints(values.tolerance);
  const warmStart = toggle(values, 'warm-start');
  const force = toggle(values, 'force');
  const pauseOnFailure = toggle(values, 'pause-on-failure');
  const config = values.config ? await loadConfig(values.config) : undefined;
  const handle = session.client.schedule.getHandle(name);
  await expected(name, async () => retrainInputOf(await handle.describe()));
  await expected(name, () =>
    handle.update((prev) => {
      const old = retrainInputOf(prev);
      const input: RetrainInput = {
        ...old,
        config: config ?? old.config,
        options: {
          warmStart: warmStart ?? old.options.warmStart,
          force: force ?? old.options.force,
          promotionTolerancePoints: tolerance ?? old.options.promotionTolerancePoints,
        },
      };
      const updated: ScheduleUpdateOptions = {
        spec: when ? specOf(when) : prev.spec,
        action: actionOf(name, input),
        policies: {
          ...prev.policies,
          overlap: overlap ?? prev.policies.overlap,
          pauseOnFailure: pauseOnFailure ?? prev.policies.pauseOnFailure,
        },
        state: {
          paused: prev.state.paused,
          note: prev.state.note,
          remainingActions: prev.state.remainingActions,
        },
      };
      return updated;
    }),
  );
  return describe(session, name, out, `updated schedule ${name}`);
}

async function describe(session: TemporalSession, name: string, out: Output, headline?: string) {
  const handle: ScheduleHandle = session.client.schedule.getHandle(name);
  const d = await expected(name, () => handle.describe());
  const input = retrainInputOf(d);
  const runs = await scheduleRuns(session.client, name).catch(() => []);
  const doc = {
    schedule: name,
    config: input.config.name,
    when: describeSpec(d),
    overlap: overlapFlag(d.policies.overlap),
    pauseOnFailure: d.policies.pauseOnFailure,
    paused: d.state.paused,
    note: d.state.note ?? null,
    options: input.options,
    actionsTaken: d.info.numActionsTaken,
    actionsSkippedOverlap: d.info.numActionsSkippedOverlap,
    nextRuns: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
    running: d.info.runningActions.map((a) => a.workflow.workflowId),
    runs,
  };
  out.document(doc);
  if (headline) out.line(headline);
  out.line(`schedule ${name}  (${input.config.name})${d.state.paused ? '  PAUSED' : ''}`);
  out.line(
    `  when        ${doc.when}; overlap ${doc.overlap}${doc.pauseOnFailure ? '; pauses on failure' : ''}`,
  );
  out.line(
    `  options     warm start ${input.options.warmStart ? 'yes' : 'no'}, force ${input.options.force ? 'yes' : 'no'}, ` +
      `promotion tolerance ${input.options.promotionTolerancePoints} points`,
  );
  if (d.state.note) out.line(`  note        ${d.state.note}`);
  out.line(`  next        ${doc.nextRuns.map((t) => formatTimestamp(new Date(t))).join(', ') || '–'}`);
  out.line(
    `  actions     ${doc.actionsTaken} taken, ${doc.actionsSkippedOverlap} skipped by the overlap policy`,
  );
  if (runs.length > 0) {
    out.line('  runs (newest first):');
    for (const r of runs) {
      const what =
        r.outcome === 'skipped'
          ? `skipped: ${r.reason}`
          : r.outcome === 'completed'
            ? `trained ${r.experimentId}, linear top-1 ${((r.linearTop1 ?? 0) * 100).toFixed(2)} %` +
              (r.promoted === null ? '' : r.promoted ? ', promoted' : ', not promoted')
            : r.status.toLowerCase();
      out.line(`    ${formatTimestamp(new Date(r.startTime))}  ${r.workflowId}  ${what}`);
    }
  }
  return EXIT_OK;
}

async function list(session: TemporalSession, out: Output) {
  const rows = [];
  for await (const s of session.client.schedule.list()) {
    if (s.action?.type === 'startWorkflow' && s.action.workflowType !== 'retrain') continue;
    rows.push({
      schedule: s.scheduleId,
      when: s.spec ? describeSpec({ spec: s.spec }) : '',
      paused: s.state.paused,
      nextRun: s.info.nextActionTimes[0]?.toISOString() ?? null,
      lastRun: s.info.recentActions.at(-1)?.takenAt.toISOString() ?? null,
    });
  }
  rows.sort((a, b) => a.schedule.localeCompare(b.schedule));
  out.document({ schedules: rows });
  if (rows.length === 0)
    out.line("no schedules yet: create one with 'simclr schedule create <name> --config f.yaml --every 24h'");
  else
    out.line(
      table(
        ['SCHEDULE', 'WHEN', 'STATE', 'NEXT', 'LAST'],
        rows.map((r) => [
          r.schedule,
          r.when,
          r.paused ? 'paused' : 'active',
          r.nextRun ? formatTimestamp(new Date(r.nextRun)) : '–',
          r.lastRun ? formatTimestamp(new Date(r.lastRun)) : '–',
        ]),
      ),
    );
  return EXIT_OK;
}

/** The workflow id of the run a trigger started: the newest action taken at or after `since`. */
async function startedRun(
  handle: ScheduleHandle,
  since: Date,
): Promise<{ workflowId: string; runId: string } | undefined> {
  for (let i = 0; i < 40; i++) {
    const d = await handle.describe();
    const taken = d.info.recentActions.filter((a) => a.takenAt.getTime() >= since.getTime() - 1000).at(-1);
    if (taken)
      return {
        workflowId: taken.action.workflow.workflowId,
        runId: taken.action.workflow.firstExecutionRunId,
      };
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}

async function trigger(session: TemporalSession, name: string, values: Values, out: Output) {
  const handle = session.client.schedule.getHandle(name);
  const d = await expected(name, () => handle.describe());
  const input = retrainInputOf(d);
  const since = new Date();
  let run: { workflowId: string; runId: string } | undefined;
  if (values.force) {
    // A forced run is started directly, marked 'manual' in its input: Temporal's trigger has no way to mark one.
    const workflowId = `${retrainWorkflowId(name)}-manual-${since.toISOString().replace(/\.\d+Z$/, 'Z')}`;
    const manual = { ...input, trigger: 'manual' as const };
    const h = await session.client.workflow.start(retrain, {
      workflowId,
      taskQueue: CPU_QUEUE,
      args: [manual],
      typedSearchAttributes: [{ key: SA_SCHEDULE, value: name }],
      staticSummary: `SimCLR retraining '${name}' of ${input.config.name}, forced by hand`,
    });
    run = { workflowId, runId: h.firstExecutionRunId };
  } else {
    // The schedule's own overlap policy (the SDK's default for a trigger would be allow-all).
    await handle.trigger(d.policies.overlap);
    run = await startedRun(handle, since);
  }
  let result: RetrainResult | undefined;
  if (values.wait && run) {
    out.note(`waiting for ${run.workflowId}`);
    result = await session.client.workflow.getHandle<typeof retrain>(run.workflowId, run.runId).result();
  }
  out.document({
    schedule: name,
    forced: values.force ?? false,
    workflowId: run?.workflowId ?? null,
    runId: run?.runId ?? null,
    result: result ?? null,
  });
  if (!run)
    out.line(
      `triggered schedule ${name}; no run started yet (the overlap policy '${overlapFlag(d.policies.overlap)}' may have skipped it: a run is still open)`,
    );
  else out.line(`triggered schedule ${name}${values.force ? ' (forced)' : ''}: ${run.workflowId}`);
  if (result)
    out.line(
      result.status === 'skipped'
        ? `  skipped: ${result.reason}`
        : `  trained ${result.experimentId}: linear top-1 ${((result.linearTop1 ?? 0) * 100).toFixed(2)} %` +
            (result.promotion
              ? `; ${result.promotion.promoted ? 'promoted' : 'not promoted'}: ${result.promotion.reason}`
              : '') +
            `\n  report ${result.report}`,
    );
  return EXIT_OK;
}

function isoFlag(value: string | undefined, flag: string): Date {
  if (value === undefined)
    throw new CliError(`backfill needs --${flag} <ISO time> (e.g. 2026-11-01T00:00:00Z)`, EXIT_USAGE);
  const t = new Date(value);
  if (Number.isNaN(t.getTime()))
    throw new CliError(`--${flag} '${value}': not an ISO time (e.g. 2026-11-01T00:00:00Z)`, EXIT_USAGE);
  return t;
}

async function backfill(session: TemporalSession, name: string, values: Values, out: Output) {
  const start = isoFlag(values.from, 'from');
  const end = isoFlag(values.to, 'to');
  if (end <= start) throw new CliError('--to must be after --from', EXIT_USAGE);
  const handle = session.client.schedule.getHandle(name);
  const d = await expected(name, () => handle.describe());
  retrainInputOf(d);
  await expected(name, () => handle.backfill({ start, end, overlap: d.policies.overlap }));
  out.document({ schedule: name, from: start.toISOString(), to: end.toISOString() });
  out.line(
    `backfilling schedule ${name} from ${start.toISOString()} to ${end.toISOString()} (overlap ${overlapFlag(d.policies.overlap)})`,
  );
  return EXIT_OK;
}

async function simple(
  session: TemporalSession,
  verb: 'pause' | 'unpause' | 'delete',
  name: string,
  values: Values,
  out: Output,
) {
  const handle = session.client.schedule.getHandle(name);
  await expected(name, async () => retrainInputOf(await handle.describe()));
  if (verb === 'pause') await expected(name, () => handle.pause(values.note ?? 'paused with simclr'));
  else if (verb === 'unpause')
    await expected(name, () => handle.unpause(values.note ?? 'unpaused with simclr'));
  else await expected(name, () => handle.delete());
  out.document({ schedule: name, [verb === 'delete' ? 'deleted' : 'paused']: verb !== 'unpause' });
  out.line(
    `${verb === 'delete' ? 'deleted' : `${verb}d`} schedule ${name}${verb === 'delete' ? " (its runs and models stay; 'simclr models " + name + "')" : ''}`,
  );
  return EXIT_OK;
}

export async function run(argv: string[], out: Output): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || !(verb in VERB_FLAGS))
    throw new CliError(
      `${verb === undefined ? 'missing <verb>' : `unknown verb '${verb}'`}\n\n${usage}`,
      EXIT_USAGE,
    );
  const { values, positionals: pos } = parseCommand(rest, OPTIONS, usage);
  for (const flag of Object.keys(values) as (keyof typeof OPTIONS)[]) {
    if (flag in COMMON_OPTIONS || flag in TEMPORAL_OPTIONS) continue;
    if (!VERB_FLAGS[verb].includes(flag))
      throw new CliError(`schedule ${verb} does not take --${flag}`, EXIT_USAGE);
  }
  const [name] = verb === 'list' ? positionals(pos, [], usage) : positionals(pos, ['name'], usage);
  if (name !== undefined) checkScheduleName(name);
  // Flag combinations are checked before connecting: a usage error needs no server.
  if (verb === 'create' || verb === 'update') {
    scheduleWhen(values, verb === 'create');
    overlapPolicy(values.overlap);
    tolerancePoints(values.tolerance);
    for (const flag of ['warm-start', 'pause-on-failure', 'force'] as const) toggle(values, flag);
  }
  const session = await connectTemporal(resolveTarget(values));
  try {
    switch (verb) {
      case 'create':
        return await create(session, name, values, out);
      case 'update':
        return await update(session, name, values, out);
      case 'list':
        return await list(session, out);
      case 'describe':
        return await describe(session, name, out);
      case 'trigger':
        return await trigger(session, name, values, out);
      case 'backfill':
        return await backfill(session, name, values, out);
      default:
        return await simple(session, verb as 'pause' | 'unpause' | 'delete', name, values, out);
    }
  } finally {
    await session.close();
  }
}
