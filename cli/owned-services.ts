/**
 * The local services a command started for itself (`run --embedded` starting the Temporal dev server)
 * and what happens to them when the command ends:
 *   - it ends normally: they keep running, so the web UI link it printed stays valid (as documented);
 *   - it is stopped by SIGTERM, SIGINT or SIGHUP (Ctrl-C, `kill`, `pkill`, a closed terminal): they are
 *     stopped as the command exits, after its workers drained; a signal that comes before anything
 *     else handles signals (e.g. while TensorFlow loads) exits at once, stopping them too, and one that
 *     comes while a service is still starting exits as soon as it is recorded (so it can be stopped);
 *   - it dies by SIGKILL (no handler runs): a small watchdog process, started as soon as the service
 *     is recorded, sees the command's pid go and stops the service. (A SIGKILL in the seconds between
 *     the server's spawn and its health check still leaves it running; `simclr services down` stops it.)
 * Every stop checks that the pid is still the service it recorded (infra/process-identity.ts), so a
 * reused pid is never signalled. The run itself is durable in the server's database either way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { ServiceRecord } from '../infra/services';
import { isSameProcess } from '../infra/process-identity';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const owned: { record: ServiceRecord; watchdog?: ChildProcess }[] = [];
let interruptedBy: NodeJS.Signals | undefined;
let installed = false;
/** Services being started: a stop signal waits for them to be recorded, then exits. */
let starting = 0;

function exitFor(signal: NodeJS.Signals): never {
  process.exit(128 + constants.signals[signal]);
}

/**
 * Waits for `parent` to go, then SIGTERMs `pid` if it still has the recorded start time (field 22 of
 * /proc/<pid>/stat, read after the command name, which ends at the last ')').
 */
const WATCHDOG = `
parent=$1; pid=$2; ticks=$3
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
now=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f20)
[ -n "$now" ] && [ "$now" = "$ticks" ] && kill -TERM "$pid"
exit 0
`;

function startWatchdog(record: ServiceRecord): ChildProcess | undefined {
  if (!record.identity) return undefined; // no /proc: nothing to check a pid against, so no blind kill
  const child = spawn(
    'sh',
    [
      '-c',
      WATCHDOG,
      'simclr-watchdog',
      String(process.pid),
      String(record.pid),
      String(record.identity.startTicks),
    ],
    // Its own process group: a signal to the command's group must not take the watchdog with it.
    { detached: true, stdio: 'ignore' },
  );
  child.on('error', () => undefined); // no sh: the signal handlers still cover all but SIGKILL
  child.unref();
  return child;
}

function stopOwned(): void {
  for (const { record } of owned) {
    if (!isSameProcess(record.pid, record, record.name)) continue;
    try {
      process.kill(record.pid, 'SIGTERM');
    } catch {
      // gone meanwhile
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const signal of STOP_SIGNALS) {
    process.on(signal, () => {
      interruptedBy ??= signal;
      // Only this handler: nothing drains or exits on this signal (yet), so exit as the default would.
      if (process.listenerCount(signal) === 1 && starting === 0) exitFor(signal);
    });
  }
  process.once('exit', () => {
    if (interruptedBy) stopOwned();
    // Ended normally (or stopped the services just now): the watchdog's job is over.
    for (const { watchdog } of owned) if (watchdog && watchdog.exitCode === null) watchdog.kill('SIGKILL');
  });
}

/**
 * Runs `start` (which starts services and calls back with each one's record as soon as it is written)
 * and ties every service it started to this command: stopped when the command is killed, kept when it
 * ends. A stop signal received meanwhile takes effect once `start` is done.
 */
export async function startOwned<T>(start: (own: (record: ServiceRecord) => void) => Promise<T>): Promise<T> {
  install();
  starting++;
  try {
    return await start((record) => owned.push({ record, watchdog: startWatchdog(record) }));
  } finally {
    starting--;
    if (interruptedBy && starting === 0) exitFor(interruptedBy);
  }
}

/** Whether this command owns a service that it stops when interrupted (for the interrupt note). */
export function ownsServices(): boolean {
  return owned.length > 0;
}
