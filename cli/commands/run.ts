/**
 * `simclr run <experiment.yaml>`: validates the experiment file, starts the `experiment` workflow under
 * the id `<name>-<YYYYMMDD-HHMMSS>` (UTC; or --id) and follows it to its results. --embedded runs the
 * workers in this process (and the local Temporal dev server when no address is given); --detach returns
 * after the start with the id and the web UI link.
 */
import { WorkflowNotFoundError } from '@temporalio/common';
import { ConfigError, loadExperimentFile } from '../../config/load';
import type { ExperimentConfig } from '../../config/schema';
import type { TemporalFlags } from '../../infra/temporal-connection';
import { COMMON_OPTIONS, parseCommand, positionals, TEMPORAL_OPTIONS, TEMPORAL_USAGE } from '../args';
import { compactTimestamp } from '../format';
import type { TemporalSession } from '../connect';
import { launch, sessionFor } from '../launch';
import { CliError, EXIT_USAGE, type Output } from '../output';
import { EXPERIMENT_WORKFLOW_TYPE } from '../snapshot';
import { SA_STAGE } from '../../workflows/search-attributes';

export const usage = `usage: simclr run <experiment.yaml> [--id ID] [--detach] [--embedded] [--json]

  --id ID               experiment id (default <name>-<YYYYMMDD-HHMMSS>, UTC); also the workflow id.
                        An id in use is refused: continue a failed or cancelled run with 'simclr resume ID'
  --detach              start the run, print its id and web UI link, and return
  --embedded            run the cpu and gpu workers in this process; without --address/TEMPORAL_ADDRESS
                        also start the local Temporal dev server (kept running, so the web UI link lasts;
                        stopped with this command if it is interrupted; ports from SIMCLR_TEMPORAL_PORT /
                        SIMCLR_TEMPORAL_UI_PORT, default 7233 / 8233)
${TEMPORAL_USAGE}

The store is the filesystem under $SIMCLR_HOME/store unless SIMCLR_STORE names another (s3://bucket).`;

/** What a workflow id may be here: it names folders in the store and the child `<id>/pretrain`. */
export const EXPERIMENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Reads and validates the experiment file; a bad file is a usage error (exit 2) naming the file and the field. */
export async function loadConfig(file: string): Promise<ExperimentConfig> {
  try {
    return await loadExperimentFile(file);
  } catch (err) {
    if (err instanceof ConfigError || (err as Error)?.name === 'ConfigError') {
      const msg = (err as Error).message;
      throw new CliError(msg.includes(file) ? msg : `${file}: ${msg}`, EXIT_USAGE);
    }
    if ((err as NodeJS.ErrnoException)?.code === 'ENOENT')
      throw new CliError(`${file}: no such file`, EXIT_USAGE);
    throw err;
  }
}

/**
 * Refuses an id that an experiment already has, whatever state it is in. Running: it is still at work
 * (watch or cancel it). Completed: its results stay under that id. Failed, cancelled, terminated or timed
 * out: its checkpoints and metrics are in the store under that id, and a new run would mix with them;
 * the user who gives the same id again means "continue it" (`simclr resume`, which keeps its config and
 * hours of training) far more often than "throw it away", which is best said with a new id.
 */
export async function refuseTakenId(session: TemporalSession, id: string): Promise<void> {
  let d;
  try {
    d = await session.client.workflow.getHandle(id).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return;
    throw err;
  }
  if (d.type !== EXPERIMENT_WORKFLOW_TYPE)
    throw new CliError(
      `'${id}' is the id of a ${d.type} workflow: run the experiment under another id (--id)`,
    );
  const status = d.status.name;
  const other = `or start a new run under another id (--id)`;
  if (status === 'RUNNING') {
    const stage = d.typedSearchAttributes.get(SA_STAGE);
    throw new CliError(
      `experiment '${id}' is running${stage ? ` (stage ${stage})` : ''}: watch it with 'simclr watch ${id}', ` +
        `stop it with 'simclr cancel ${id}', ${other}`,
    );
  }
  if (status === 'COMPLETED')
    throw new CliError(`experiment '${id}' completed: see it with 'simclr report ${id}', ${other}`);
  throw new CliError(
    `experiment '${id}' already ran and is ${status.toLowerCase()} (run ${d.runId}); its checkpoints and ` +
      `metrics are kept under that id: continue it with 'simclr resume ${id}', ${other}`,
  );
}

/** What `run` (and `demo`, which runs an example file) needs besides the config. */
export interface RunFlags extends TemporalFlags {
  id?: string;
  detach?: boolean;
  embedded?: boolean;
}

/**
 * Runs a validated experiment the way `simclr run` does: names it (--id or `<name>-<timestamp>`), finds
 * Temporal (starting the local dev server and in-process workers with --embedded), starts and follows it.
 */
export async function runExperiment(config: ExperimentConfig, flags: RunFlags, out: Output): Promise<number> {
  const experimentId = flags.id ?? `${config.name}-${compactTimestamp(new Date())}`;
  if (!EXPERIMENT_ID.test(experimentId)) {
    throw new CliError(
      `--id '${experimentId}': letters, digits, '.', '_' and '-' only, starting with a letter or digit, at most 128`,
      EXIT_USAGE,
    );
  }
  const embedded = flags.embedded ?? false;
  const session = await sessionFor(flags, embedded, out);
  try {
    await refuseTakenId(session, experimentId);
    return await launch({
      session,
      input: { experimentId, config },
      embedded,
      detach: flags.detach ?? false,
      out,
    });
  } finally {
    await session.close();
  }
}

export async function run(argv: string[], out: Output): Promise<number> {
  const { values, positionals: pos } = parseCommand(
    argv,
    {
      ...COMMON_OPTIONS,
      ...TEMPORAL_OPTIONS,
      id: { type: 'string' },
      detach: { type: 'boolean' },
      embedded: { type: 'boolean' },
    },
    usage,
  );
  const [file] = positionals(pos, ['experiment.yaml'], usage);
  return runExperiment(await loadConfig(file), values, out);
}
