/** Runs the real `simclr` command (node bin/simclr) as a child process, the way a user does. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** $SIMCLR_HOME of the command (its data root and filesystem store). */
  home: string;
  /** --address to pass; omitted when undefined. */
  address?: string;
  /** Sees stderr as it comes (e.g. to know that a live view has started). */
  onStderr?: (soFar: string) => void;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs `node bin/simclr ...args` without blocking this process (a worker in it keeps polling meanwhile). */
export function runSimclr(args: string[], opts: CliOptions): Promise<CliResult> {
  const address = opts.address === undefined ? [] : ['--address', opts.address];
  // The Temporal settings of this process's environment never leak in; those of `opts.env` are the test's.
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(childEnv)) if (k.startsWith('TEMPORAL_')) delete childEnv[k];
  Object.assign(childEnv, opts.env, { SIMCLR_HOME: opts.home });
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      ['bin/simclr', ...args, ...address],
      { cwd: ROOT, env: childEnv, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        done({ code, stdout, stderr });
      },
    );
    let soFar = '';
    child.stderr?.on('data', (chunk: Buffer) => opts.onStderr?.((soFar += chunk.toString())));
  });
}

/** stdout of a --json run: exactly one JSON document and nothing else. */
export function parseJsonOutput(r: CliResult): Record<string, unknown> {
  try {
    return JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    assert.fail(`stdout is not one JSON document:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}
