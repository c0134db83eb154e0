/**
 * The Temporal worker runtime of a CLI process that runs workers (`simclr worker`, `simclr run
 * --embedded`). The CLI owns the signals (first drains, second forces), so the runtime's own signal
 * handlers are off; in embedded mode the worker logs go to a file so they do not tear the live view.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DefaultLogger, IllegalStateError, Runtime, type LogEntry } from '@temporalio/worker';
import { redact } from '../storage/redact';

/** Errors in log metadata as their type and message (JSON.stringify would write `{}`). */
function errorsAsText(_key: string, value: unknown): unknown {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return value;
}

/** One line of the log file, redacted (storage/redact.ts): a log is read by more people than a secret. */
export function fileLogLine(entry: LogEntry): string {
  const at = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const meta =
    entry.meta && Object.keys(entry.meta).length > 0 ? ` ${JSON.stringify(entry.meta, errorsAsText)}` : '';
  return redact(`${at} ${entry.level} ${entry.message}${meta}`) + '\n';
}

/** Installs the runtime once per process; `logFile` sends the SDK's and the activities' logs there. */
export function installWorkerRuntime(opts: { logFile?: string } = {}): void {
  const logFile = opts.logFile;
  if (logFile) mkdirSync(dirname(logFile), { recursive: true });
  try {
    Runtime.install({
      shutdownSignals: [],
      ...(logFile
        ? {
            logger: new DefaultLogger('INFO', (entry) => appendFileSync(logFile, fileLogLine(entry))),
            telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
          }
        : {}),
    });
  } catch (err) {
    if (!(err instanceof IllegalStateError)) throw err; // already installed in this process
  }
}

/**
 * First SIGINT/SIGTERM/SIGHUP calls `drain` (stop polling, let running activities finish or checkpoint); a
 * second one exits at once with 130. Returns a function that removes the handlers.
 */
export function onInterrupt(
  drain: (signal: NodeJS.Signals) => void,
  note: (line: string) => void,
): () => void {
  let count = 0;
  const handler = (signal: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      drain(signal);
    } else {
      note(`${signal} again: exiting now without waiting`);
      process.exit(130);
    }
  };
  // SIGHUP too: a closed terminal or a session logout must drain like Ctrl-C, not kill mid-checkpoint.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}
