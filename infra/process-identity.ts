/**
 * Which process a recorded pid was: its start time (clock ticks since boot, /proc/<pid>/stat field 22)
 * and the boot it started in (/proc/sys/kernel/random/boot_id). A pid alone is not an identity: after
 * the process exits (or the machine reboots) the kernel hands the number to another program, and
 * signalling it would stop that program instead. The service files of `simclr services` record the
 * identity beside the pid, and nothing is signalled unless the live process still matches it.
 *
 * @example
 *   const identity = processIdentity(child.pid);          // record it with the pid
 *   if (isSameProcess(rec.pid, rec, 'temporal')) await stopProcess(rec.pid);
 */
import { readFileSync } from 'node:fs';

export interface ProcessIdentity {
  /** Start time in clock ticks since boot; unique per boot together with the pid. */
  startTicks: number;
  /** The boot the process started in: a reboot makes every recorded start time meaningless. */
  bootId: string;
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The identity of live process `pid`, or undefined when it does not exist (or /proc is not there). */
export function processIdentity(pid: number): ProcessIdentity | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  const bootId = readProc('/proc/sys/kernel/random/boot_id')?.trim();
  if (stat === undefined || !bootId) return undefined;
  // The command name (field 2) is in parentheses and may itself hold spaces or ')': skip past the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const startTicks = Number(fields[19]); // field 22 of the whole line
  return Number.isFinite(startTicks) ? { startTicks, bootId } : undefined;
}

/** The command line of `pid` as its arguments, or undefined when it cannot be read. */
export function processArgs(pid: number): string[] | undefined {
  const raw = readProc(`/proc/${pid}/cmdline`);
  return raw === undefined ? undefined : raw.split('\0').filter((a) => a !== '');
}

/** What a service file records of its process besides the pid. */
export interface RecordedProcess {
  /** Absent in files written before identities were recorded. */
  identity?: ProcessIdentity;
  /** The program as started (argv[0]); absent in older files. */
  program?: string;
}

/**
 * Whether `pid` is still the process that was recorded: same boot and start time when an identity was
 * recorded, and the same program (argv[0]; for an older file without one, a program named `name`).
 * False when the pid is gone or is any other process.
 */
export function isSameProcess(pid: number, recorded: RecordedProcess, name: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const now = processIdentity(pid);
  if (now === undefined) return false;
  const id = recorded.identity;
  if (id && (id.bootId !== now.bootId || id.startTicks !== now.startTicks)) return false;
  const args = processArgs(pid);
  if (!args || args.length === 0) return false;
  if (recorded.program !== undefined) return args[0] === recorded.program;
  return (args[0].split('/').pop() ?? '') === name;
}
