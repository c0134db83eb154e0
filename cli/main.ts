/**
 * `simclr`: the command line of the durable SimCLR pipeline. One verb per file under cli/commands/,
 * loaded on demand (`list` does not load TensorFlow). Errors the user can act on print as one line
 * (with --json: `{"error": "..."}` on stdout) and set the exit code: 1 failure, 2 bad usage or config.
 */
import { MissingBinaryError } from '../infra/binaries';
import { PortInUseError } from '../infra/ports';
import { redact } from '../storage/redact';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, Output } from './output';

interface Command {
  usage: string;
  run(argv: string[], out: Output): Promise<number>;
}

// require, not import(): bin/simclr loads TypeScript through tsx's CommonJS hook.
const COMMANDS: Record<string, { summary: string; load: () => Command }> = {
  services: {
    summary: 'start, stop and show the local Temporal dev server and MinIO',
    load: () => require('./commands/services'),
  },
  worker: {
    summary: 'run a worker for the cpu, gpu or all task queues',
    load: () => require('./commands/worker'),
  },
  demo: {
    summary: 'the embedded demo (Fashion-MNIST, or generated shapes without it)',
    load: () => require('./commands/demo'),
  },
  run: {
    summary: 'run an experiment file and follow it to its results',
    load: () => require('./commands/run'),
  },
  status: {
    summary: "an experiment's stage and progress, or its results",
    load: () => require('./commands/status'),
  },
  watch: { summary: 'the live view of a running experiment', load: () => require('./commands/watch') },
  list: { summary: 'the experiments, newest first', load: () => require('./commands/list') },
  cancel: {
    summary: 'cancel a running experiment (a final checkpoint is kept)',
    load: () => require('./commands/cancel'),
  },
  resume: {
    summary: 'run a failed or cancelled experiment again from its last checkpoint',
    load: () => require('./commands/resume'),
  },
  report: {
    summary: "a completed experiment's report and results",
    load: () => require('./commands/report'),
  },
  sweep: {
    summary: 'run experiments over a grid (or a preset) and compare them in one report',
    load: () => require('./commands/sweep'),
  },
  schedule: {
    summary: 'scheduled retraining on Temporal Schedules: create, list, describe, trigger, pause, ...',
    load: () => require('./commands/schedule'),
  },
  models: {
    summary: "a schedule's promoted encoders (and refused ones) and its current model",
    load: () => require('./commands/models'),
  },
  export: {
    summary: 'write a trained encoder as a TensorFlow.js model (+ model card), loadable without this project',
    load: () => require('./commands/export'),
  },
  embed: {
    summary: 'embed an image collection with a run or an exported model into a Parquet or .npy file',
    load: () => require('./commands/embed'),
  },
  neighbors: {
    summary: 'nearest neighbours of an image or a row in an embeddings file, with a contact sheet',
    load: () => require('./commands/neighbors'),
  },
  gc: {
    summary: "remove what no open run needs: closed runs' views and old checkpoints, interrupted writes",
    load: () => require('./commands/gc'),
  },
};

export const USAGE = `usage: simclr <command> [options]     (simclr <command> --help for its options)

${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)}${c.summary}`)
  .join('\n')}

Every command takes --json (one JSON document on stdout). Temporal: --address / --namespace or
TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE; TLS and API key from env (TEMPORAL_TLS*, TEMPORAL_API_KEY).
Data root: $SIMCLR_HOME (default ~/.simclr); store: $SIMCLR_STORE (default the filesystem under it).`;

/** Runs the command line `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const out = new Output(argv.includes('--json'));
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(USAGE + '\n');
    return verb === undefined ? EXIT_USAGE : EXIT_OK;
  }
  try {
    const entry = COMMANDS[verb];
    if (!entry) throw new CliError(`unknown command '${verb}'\n\n${USAGE}`, EXIT_USAGE);
    const command = entry.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(command.usage + '\n');
      return EXIT_OK;
    }
    return await command.run(rest, out);
  } catch (err) {
    if (err instanceof CliError) {
      out.error(err.message);
      return err.exitCode;
    }
    // Conditions of the machine the user resolves (a port taken, a binary not built): one line, no stack.
    if (err instanceof PortInUseError || err instanceof MissingBinaryError) {
      out.error(err.message);
      return EXIT_FAILURE;
    }
    // Not anticipated: keep the stack for a bug report, but still one JSON document in --json mode.
    if (out.json) out.error(err instanceof Error ? err.message : String(err));
    else
      process.stderr.write(
        redact(
          `simclr: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
        ),
      );
    return EXIT_FAILURE;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // The command is done: a handle left open by a library must not keep the process alive.
      setTimeout(() => process.exit(code), 2000).unref();
    },
    (err) => {
      process.stderr.write(`simclr: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = EXIT_FAILURE;
    },
  );
}
