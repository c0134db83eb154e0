/**
 * `simclr sweep <sweep.yaml> | --preset NAME`: expands and validates every variant (a bad path or
 * value is refused before anything starts), starts the `sweep` workflow under `<name>-<timestamp>`
 * (or --id) and follows it to its report. Run again with the same --id, a sweep skips the variants
 * already completed and resumes the others. `simclr sweep status <id>` and `simclr sweep report <id>`
 * show a running or finished sweep.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { ConfigError } from '../../config/errors';
import { loadSweepFile, type SweepPlan } from '../../config/sweep';
import { sweepPresetNames, sweepPresetPath } from '../../config/sweep-presets';
import { webUiUrl, type TemporalTarget } from '../../infra/temporal-connection';
import { sweep, sweepProgressQuery } from '../../workflows/sweep';
import type { SweepInput, SweepProgress, SweepResults, SweepVariantProgress } from '../../contracts/sweep';
import { CPU_QUEUE } from '../../contracts';
import { COMMON_OPTIONS, parseCommand, positionals, TEMPORAL_OPTIONS, TEMPORAL_USAGE } from '../args';
import { withExperiment } from '../connect';
import { compactTimestamp } from '../format';
import { experimentStore, sessionFor, startEmbeddedWorkers } from '../launch';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Output } from '../output';
import { reportLocation } from '../results';
import { PLAIN_EVERY_MS } from '../live-view';
import { takeSnapshot } from '../snapshot';
import {
  expectationLines,
  progressLines,
  variantChange,
  variantProgressLine,
  variantTable,
} from '../sweep-view';

export const usage = `usage: simclr sweep <sweep.yaml> | --preset NAME [--id ID] [--detach] [--embedded] [--json]
       simclr sweep status <id> [--json]
       simclr sweep report <id> [--json]

  --preset NAME         a sweep of examples/sweeps/: ${sweepPresetNames().join(', ')}
  --id ID               sweep id (default <name>-<YYYYMMDD-HHMMSS>, UTC); the children are <id>/<variant>.
                        Again with the same id: completed variants are skipped, the others resumed
  --detach              start the sweep, print its id and return
  --embedded            run the cpu and gpu workers in this process (and the local Temporal dev server
                        without --address/TEMPORAL_ADDRESS)
${TEMPORAL_USAGE}`;

/** Sweep ids name a store folder and prefix the children's ids (`<id>/<variant>`, `<id>.<variant>`). */
export const SWEEP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const POLL_MS = 2000;

export async function run(argv: string[], out: Output): Promise<number> {
  if (argv[0] === 'status' || argv[0] === 'report') return show(argv[0], argv.slice(1), out);
  const { values, positionals: pos } = parseCommand(
    argv,
    {
      ...COMMON_OPTIONS,
      ...TEMPORAL_OPTIONS,
      preset: { type: 'string' },
      id: { type: 'string' },
      detach: { type: 'boolean' },
      embedded: { type: 'boolean' },
    },
    usage,
  );
  if (values.preset !== undefined && pos.length > 0)
    throw new CliError(`give a sweep file or --preset, not both\n\n${usage}`, EXIT_USAGE);
  const file =
    values.preset !== undefined ? presetFile(values.preset) : positionals(pos, ['sweep.yaml'], usage)[0];
  const plan = await loadPlan(file);
  const sweepId = values.id ?? `${plan.name}-${compactTimestamp(new Date())}`;
  if (!SWEEP_ID.test(sweepId))
    throw new CliError(
      `--id '${sweepId}': letters, digits, '.', '_' and '-' only, starting with a letter or digit, at most 64`,
      EXIT_USAGE,
    );
  const embedded = values.embedded ?? false;
  const detach = values.detach ?? false;
  const session = await sessionFor(values, embedded, out);
  const workers =
    embedded && !detach
      ? await startEmbeddedWorkers(
          session.target,
          { logName: sweepId, backend: plan.variants[0].config.backend },
          out,
        )
      : undefined;
  try {
    const store = await experimentStore(out);
    const input = {
      ...sweepInput(plan, sweepId, webUiUrl(session.target, sweepId)),
      ...(store ? { store } : {}),
    };
    const handle = await startSweep(session.client, input);
    const link = webUiUrl(session.target, sweepId, handle.firstExecutionRunId);
    if (detach) {
      out.document({ sweepId, runId: handle.firstExecutionRunId, status: 'RUNNING', webUiUrl: link ?? null });
      out.line(`started sweep ${sweepId} (${plan.variants.length} variants)`);
      if (link) out.line(`  web UI  ${link}`);
      out.line(`  status  simclr sweep status ${sweepId}`);
      return EXIT_OK;
    }
    out.note(
      `started sweep ${sweepId}: ${plan.variants.length} variants, at most ${plan.maxParallel} at a time${link ? `  ${link}` : ''}`,
    );
    return await follow(session.client, session.target, sweepId, out, link);
  } finally {
    await workers?.shutdown();
    await session.close();
  }
}

/** The workflow input of an expanded sweep. */
export function sweepInput(plan: SweepPlan, sweepId: string, link?: string): SweepInput {
  return {
    sweepId,
    name: plan.name,
    description: plan.description,
    source: plan.source,
    maxParallel: plan.maxParallel,
    expectations: plan.expectations,
    variants: plan.variants.map((v) => ({
      name: v.name,
      description: v.description,
      knobs: v.knobs,
      config: v.config,
      viewStream: v.viewStream,
    })),
    webUiUrl: link,
  };
}

function presetFile(name: string): string {
  try {
    return sweepPresetPath(name);
  } catch (err) {
    throw new CliError((err as Error).message, EXIT_USAGE);
  }
}

/** The expanded sweep; a bad file or variant is a usage error (exit 2) naming the file, variant and field. */
async function loadPlan(file: string): Promise<SweepPlan> {
  try {
    return await loadSweepFile(file);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, EXIT_USAGE);
    throw err;
  }
}

async function startSweep(client: Client, input: SweepInput) {
  try {
    return await client.workflow.start(sweep, {
      workflowId: input.sweepId,
      taskQueue: CPU_QUEUE,
      args: [input],
      staticSummary: `SimCLR sweep ${input.name}: ${input.variants.length} variants`,
      // The same id again re-runs the sweep: completed children are skipped, so this is cheap and safe.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      throw new CliError(
        `sweep '${input.sweepId}' is running; see it with 'simclr sweep status ${input.sweepId}'`,
      );
    throw err;
  }
}

/** A variant's progress line; undefined while its experiment cannot be described (not started yet). */
async function progressOf(
  client: Client,
  target: TemporalTarget,
  v: SweepVariantProgress,
): Promise<string | undefined> {
  const snapshot = await takeSnapshot(client, target, v.workflowId).catch(() => undefined);
  return snapshot && variantProgressLine(v.name, snapshot);
}

/** The progress line of each running variant (those whose experiment cannot be described are left out). */
async function runningLines(client: Client, target: TemporalTarget, p: SweepProgress): Promise<string[]> {
  const running = p.variants.filter((v) => v.state === 'running');
  const lines = await Promise.all(running.map((v) => progressOf(client, target, v)));
  return lines.filter((l): l is string => l !== undefined);
}

/**
 * Notes each variant's state changes until the sweep closes, and a running variant's progress when it
 * starts and every PLAIN_EVERY_MS after (a child runs for minutes to hours); then prints the results.
 */
async function follow(
  client: Client,
  target: TemporalTarget,
  sweepId: string,
  out: Output,
  link?: string,
): Promise<number> {
  const handle = client.workflow.getHandle(sweepId);
  const result = handle.result() as Promise<SweepResults>;
  result.catch(() => undefined);
  let last: SweepProgress | undefined;
  const shownAt = new Map<string, number>();
  let settled = false;
  void result.finally(() => (settled = true)).catch(() => undefined);
  while (!settled) {
    const now = await handle.query(sweepProgressQuery).catch(() => undefined);
    if (now) {
      for (const v of now.variants) {
        const line = variantChange(
          last?.variants.find((b) => b.name === v.name),
          v,
        );
        if (line && v.state !== 'pending') out.note(line);
        if (v.state === 'running' && Date.now() - (shownAt.get(v.name) ?? 0) >= PLAIN_EVERY_MS) {
          // Not started yet (the sweep workflow starts it) or between two describes: next poll.
          const progress = await progressOf(client, target, v);
          if (progress) {
            out.note(progress);
            shownAt.set(v.name, Date.now());
          }
        }
      }
      last = now;
    }
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, POLL_MS))]);
  }
  try {
    const results = await result;
    const report = reportLocation({
      storeLocation: results.storeLocation,
      reportHtmlKey: results.reportHtmlKey,
    });
    out.document({ sweepId, status: 'COMPLETED', webUiUrl: link ?? null, report, results });
    out.line(`✓ sweep ${sweepId} completed`);
    out.line('');
    for (const l of variantTable(results.variants).split('\n')) out.line(`  ${l}`);
    if (results.expectations.length > 0) {
      out.line('');
      for (const l of expectationLines(results.expectations)) out.line(`  ${l}`);
    }
    out.line('');
    out.line(`  report  ${report}`);
    return EXIT_OK;
  } catch (err) {
    const progress = await handle.query(sweepProgressQuery).catch(() => last);
    const message = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
    out.document({ sweepId, status: 'FAILED', error: message, progress: progress ?? null });
    out.line(`✗ sweep ${sweepId} failed: ${message}`);
    if (progress) for (const l of variantTable(progress.variants).split('\n')) out.line(`  ${l}`);
    out.line(`  resume it with: simclr sweep <same file> --id ${sweepId}`);
    return EXIT_FAILURE;
  }
}

/**
 * `sweep status <id>` and `sweep report <id>`: a running sweep answers its progress query; a closed
 * one its result (no worker needed), or its failure.
 */
async function show(verb: 'status' | 'report', argv: string[], out: Output): Promise<number> {
  return withExperiment(argv, usage, {}, async (session, id) => {
    const handle = session.client.workflow.getHandle(id);
    let status: string;
    try {
      status = (await handle.describe()).status.name;
    } catch (err) {
      throw new CliError(`no sweep '${id}': ${(err as Error).message.split('\n')[0]}`);
    }
    if (status === 'RUNNING') {
      const progress = await handle.query(sweepProgressQuery);
      if (verb === 'report') throw new CliError(`sweep '${id}' has no report yet: it is ${progress.stage}`);
      out.document({ status, ...progress });
      for (const l of progressLines(progress)) out.line(l);
      const running = await runningLines(session.client, session.target, progress);
      if (running.length > 0) out.line('');
      for (const l of running) out.line(l);
      return EXIT_OK;
    }
    let results: SweepResults;
    try {
      results = (await handle.result()) as SweepResults;
    } catch (err) {
      const message = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
      out.document({ sweepId: id, status, error: message });
      out.line(`sweep ${id}: ${status.toLowerCase()}: ${message}`);
      return verb === 'status' ? EXIT_OK : EXIT_FAILURE;
    }
    const report = reportLocation({
      storeLocation: results.storeLocation,
      reportHtmlKey: results.reportHtmlKey,
    });
    out.document({ sweepId: id, status, report, results });
    if (verb === 'report') out.line(report);
    else out.line(`sweep ${id}: completed`);
    out.line('');
    for (const l of variantTable(results.variants).split('\n')) out.line(l);
    if (results.expectations.length > 0) out.line('');
    for (const l of expectationLines(results.expectations)) out.line(l);
    if (verb === 'status') out.line(`\n  report  ${report}`);
    return EXIT_OK;
  });
}
