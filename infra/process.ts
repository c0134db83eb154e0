/**
 * Small helpers for the service processes this project starts (MinIO, and the same needs of the
 * Temporal dev server): liveness, a graceful stop, and the tail of a log for error messages.
 */
import { readFileSync } from 'node:fs';

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. `alive` says whether the
 * pid is still the process meant (default: any process with the pid): checked before every signal, so
 * a pid handed to another program meanwhile is never signalled.
 */
export async function stopProcess(
  pid: number,
  graceMs = 10_000,
  alive: () => boolean = () => isAlive(pid),
): Promise<void> {
  const signal = (sig: NodeJS.Signals): void => {
    if (!alive()) return;
    try {
      process.kill(pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  };
  if (!alive()) return;
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive()) {
    if (Date.now() > deadline) {
      signal('SIGKILL');
      const killDeadline = Date.now() + 5_000;
      while (alive() && Date.now() < killDeadline) await new Promise((r) => setTimeout(r, 50));
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The last `lines` lines of a log file, for error messages; '(no log)' when it cannot be read. */
export function tailOf(file: string, lines = 20): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd();
    return text ? text.split('\n').slice(-lines).join('\n') : '(log is empty)';
  } catch {
    return '(no log)';
  }
}
