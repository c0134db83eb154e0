/**
 * `simclr run <experiment.yaml>`: validates the experiment file, starts the `experiment` workflow under
 * the id `<name>-<YYYYMMDD-HHMMSS>` (UTC; or --id) and follows it to its results. --embedded runs the
 * workers in this process (and the local Temporal dev server when no address is given); --detach returns
 * after the start with the id and the web UI link.
 */
import { ConfigError, loadExperimentFile } from '../../config/load';
import type { ExperimentConfig } from '../../config/schema';
import type { TemporalFlags } from '../../infra/temporal-connection';
import { COMMON_OPTIONS, parseCommand, positionals, TEMPORAL_OPTIONS, TEMPORAL_USAGE } from '../args';
import { compactTimestamp } from '../format';
import { launch, sessionFor } from '../launch';
import { CliError, EXIT_USAGE, type Output } from '../output';

export const usage = `usage: simclr run <experiment.yaml> [--id ID] [--detach] [--embedded] [--json]

  --id ID               experiment id (default <name>-<YYYYMMDD-HHMMSS>, UTC); also the workflow id
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
