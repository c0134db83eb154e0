/**
 * Starting an experiment run (`run`, `resume`): where Temporal is (with --embedded, the local dev server
 * is started if needed and both worker classes run in this process), the workflow start itself, then
 * either the id and link (--detach) or the live view to the end.
 */
import { join } from 'node:path';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { simclrHome, storeUriFromEnv } from '../infra/paths';
import { openStore } from '../storage/open';
import { redact } from '../storage/redact';
import { storeIdentity, type StoreRef } from '../storage/store-id';
import { DEFAULT_PORTS, servicesUp, type ServicePorts } from '../infra/services';
import { webUiUrl, type TemporalFlags, type TemporalTarget } from '../infra/temporal-connection';
import { experiment } from '../workflows/experiment';
import { SA_ENCODER, SA_EXPERIMENT, SA_SCHEDULE, SA_STAGE } from '../workflows/search-attributes';
import { CPU_QUEUE, type ExperimentInput } from '../contracts';
import { connectTemporal, resolveTarget, type TemporalSession } from './connect';
import { followToEnd } from './follow';
import { CliError, EXIT_OK, EXIT_USAGE, type Output } from './output';
import { ownsServices, startOwned } from './owned-services';
import { runMemo, staticDetailsOf, summaryOf } from '../workflows/run-metadata';
import { EXPERIMENT_WORKFLOW_TYPE } from './snapshot';
import { installWorkerRuntime } from './worker-runtime';

/**
 * The local dev server's ports for --embedded: 7233 / 8233 (as `simclr services up`), or
 * SIMCLR_TEMPORAL_PORT / SIMCLR_TEMPORAL_UI_PORT.
 */
export function embeddedPorts(env: NodeJS.ProcessEnv = process.env): ServicePorts {
  const port = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 65535)
      throw new CliError(`${name}=${raw}: expected a TCP port (1-65535)`, EXIT_USAGE);
    return n;
  };
  return {
    ...DEFAULT_PORTS,
    temporalPort: port('SIMCLR_TEMPORAL_PORT', DEFAULT_PORTS.temporalPort),
    temporalUiPort: port('SIMCLR_TEMPORAL_UI_PORT', DEFAULT_PORTS.temporalUiPort),
  };
}

/**
 * The Temporal to use. With --embedded and no --address / TEMPORAL_ADDRESS, the local dev server
 * (`simclr services up`, temporal only): persistent, so the web UI link stays valid after the command;
 * one this command had to start is stopped if the command is killed (./owned-services.ts).
 */
export async function sessionFor(
  flags: TemporalFlags,
  embedded: boolean,
  out: Output,
): Promise<TemporalSession> {
  if (!embedded || flags.address || process.env.TEMPORAL_ADDRESS)
    return connectTemporal(resolveTarget(flags));
  let list;
  const ports = embeddedPorts();
  try {
    list = await startOwned((own) => servicesUp(ports, (l) => out.note(l), ['temporal'], own));
  } catch (err) {
    // The port may be held by a Temporal started some other way (e.g. `temporal server start-dev`): use it.
    const fallback = resolveTarget({ ...flags, address: `127.0.0.1:${ports.temporalPort}` });
    const session = await connectTemporal(fallback).catch(() => undefined);
    if (!session) throw new CliError(`cannot start the local Temporal dev server: ${(err as Error).message}`);
    out.note(`using the Temporal server already listening on ${fallback.address}`);
    return session;
  }
  const temporal = list.find((s) => s.name === 'temporal');
  if (temporal?.state !== 'running' || !temporal.record)
    throw new CliError(`the local Temporal dev server did not start: ${temporal?.detail ?? 'unknown'}`);
  return connectTemporal(
    resolveTarget({ ...flags, address: `${temporal.record.host}:${temporal.record.ports[0]}` }),
  );
}

export interface LaunchRequest {
  session: TemporalSession;
  input: Omit<ExperimentInput, 'webUiUrl'>;
  embedded: boolean;
  detach: boolean;
  out: Output;
}

async function startRun(session: TemporalSession, input: LaunchRequest['input']) {
  const { client, target } = session;
  const id = input.experimentId;
  try {
    return await client.workflow.start(experiment, {
      workflowId: id,
      taskQueue: CPU_QUEUE,
      args: [{ ...input, webUiUrl: webUiUrl(target, id) }],
      typedSearchAttributes: [
        { key: SA_EXPERIMENT, value: id },
        { key: SA_STAGE, value: 'validate' },
        { key: SA_ENCODER, value: input.config.model.encoder },
        // A resumed run of a schedule stays the schedule's (simclr resume carries its lineage).
        ...(input.retrain ? [{ key: SA_SCHEDULE, value: input.retrain.lineage.schedule }] : []),
      ],
      memo: input.retrain ? { ...runMemo(input), lineage: input.retrain.lineage } : runMemo(input),
      staticSummary: summaryOf(input),
      staticDetails: staticDetailsOf(input),
      // A finished experiment keeps its id; only a failed, cancelled, terminated or timed-out one runs again (resume).
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new CliError(
        `an experiment with id '${id}' already exists and is running or completed; ` +
          `pick another id (--id), watch it (simclr watch ${id}) or see it (simclr status ${id})`,
      );
    }
    throw err;
  }
}

async function embeddedWorkers(target: TemporalTarget, input: ExperimentInput, out: Output) {
  return startEmbeddedWorkers(target, { logName: input.experimentId, backend: input.config.backend }, out);
}

/**
 * The cpu and gpu workers in this process (`run --embedded`, `sweep --embedded`), logging to
 * $SIMCLR_HOME/logs/<logName>.log, with TensorFlow loaded first.
 */
export async function startEmbeddedWorkers(
  target: TemporalTarget,
  opts: { logName: string; backend: ExperimentInput['config']['backend'] },
  out: Output,
) {
  const logFile = join(simclrHome(), 'logs', `${opts.logName}.log`);
  installWorkerRuntime({ logFile });
  // Load TensorFlow now: its native library writes a few lines to stderr as it loads, which must come
  // before the live view starts redrawing, not in the middle of it.
  const { activityBackend } = require('../activities/context') as typeof import('../activities/context');
  await activityBackend(opts.backend); // logs which backend runs, and why
  const { startWorkers } = require('../workers/run-workers') as typeof import('../workers/run-workers');
  const workers = await startWorkers({ queues: ['cpu', 'gpu'], target, log: (l) => out.note(l) });
  out.note(`embedded workers (cpu + gpu) in this process; their log: ${logFile}`);
  return workers;
}

/**
 * The store this command's environment names (SIMCLR_STORE, else the filesystem store under
 * $SIMCLR_HOME), as the run carries it: the workers check theirs against it. Undefined, with a note,
 * when it cannot be opened from here (the run then goes without the check).
 */
export async function experimentStore(out: Output): Promise<StoreRef | undefined> {
  const uri = storeUriFromEnv();
  try {
    return await storeIdentity(await openStore(uri));
  } catch (err) {
    out.note(
      `cannot open the store ${redact(uri)} from here (${redact((err as Error).message)}); ` +
        'the workers will not check that they use the same store',
    );
    return undefined;
  }
}

/**
 * Workers in this process serve every open experiment of the namespace, not only the one this command
 * starts: an experiment left open by an earlier command (killed, or interrupted with its dev server's
 * database kept) resumes on them and shares the gpu worker's one slot. Says which, so that a slower run
 * is not a mystery; says nothing when visibility cannot answer.
 */
export async function noteOtherOpenExperiments(session: TemporalSession, id: string, out: Output) {
  const others: string[] = [];
  try {
    const query = `ExecutionStatus = 'Running' AND WorkflowType = '${EXPERIMENT_WORKFLOW_TYPE}'`;
    for await (const wf of session.client.workflow.list({ query }))
      if (wf.workflowId !== id) others.push(wf.workflowId);
  } catch {
    return;
  }
  if (others.length > 0)
    out.note(
      `also open in this Temporal, so also run by these workers (one gpu slot, shared): ${others.join(', ')}; ` +
        `stop one with 'simclr cancel <id>'`,
    );
}

/** Starts the run and follows it (or returns at once with --detach); the exit code of the command. */
export async function launch(req: LaunchRequest): Promise<number> {
  const { session, out } = req;
  const store = req.input.store ?? (await experimentStore(out));
  const input = store ? { ...req.input, store } : req.input;
  const id = input.experimentId;
  const workers = req.embedded && !req.detach ? await embeddedWorkers(session.target, input, out) : undefined;
  if (workers) await noteOtherOpenExperiments(session, id, out);
  try {
    const handle = await startRun(session, input);
    const link = webUiUrl(session.target, id, handle.firstExecutionRunId);
    if (req.detach) {
      out.document({
        experimentId: id,
        runId: handle.firstExecutionRunId,
        status: 'RUNNING',
        webUiUrl: link ?? null,
      });
      out.line(`started experiment ${id}`);
      if (link) out.line(`  web UI  ${link}`);
      out.line(`  watch   simclr watch ${id}`);
      if (req.embedded)
        out.note("--detach: no worker runs in this process; start one with 'simclr worker --queue all'");
      return EXIT_OK;
    }
    out.note(`started experiment ${id}${link ? `  ${link}` : ''}`);
    return await followToEnd(session.client, session.target, id, out, {
      ...(workers
        ? {
            onInterrupt: () =>
              out.note(
                'stopping the embedded workers (running activities checkpoint); Ctrl-C again to exit at once',
              ),
            interruptNote: ownsServices()
              ? `stopped, with the local Temporal dev server this command started; experiment ${id} is kept in ` +
                `its database: continue it with 'simclr services up' and 'simclr worker --queue all' ` +
                `(and 'simclr watch ${id}'), or stop it with 'simclr cancel ${id}'`
              : `stopped; experiment ${id} waits in Temporal for a worker: continue it with 'simclr worker --queue all' ` +
                `(and 'simclr watch ${id}'), or stop it with 'simclr cancel ${id}'`,
          }
        : {}),
    });
  } finally {
    await workers?.shutdown();
  }
}
