/**
 * Where the command writes. In `--json` mode stdout carries exactly one JSON document (the result, or
 * `{"error": "..."}`) and nothing else; everything meant for people (notes, progress) goes to stderr.
 * Errors and notes pass through storage/redact.ts: no credential reaches the terminal or a log of it.
 */
import { redact } from '../storage/redact';

/** Exit codes: 0 success, 1 a failure (a failed run, an unreachable server), 2 bad usage or a bad experiment file. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** An error the user can act on: printed as its message only (no stack), with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export class Output {
  constructor(readonly json: boolean) {}

  /** A line of the human result on stdout; ignored in JSON mode (the document says it all). */
  line(text = ''): void {
    if (!this.json) process.stdout.write(text + '\n');
  }

  /** A note for people (progress, hints): stderr, so stdout stays clean for the result. */
  note(text: string): void {
    process.stderr.write(redact(text) + '\n');
  }

  /** The one JSON document of a `--json` run. */
  document(value: unknown): void {
    if (this.json) process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }

  /** Reports an error in the mode's format. */
  error(message: string): void {
    message = redact(message);
    if (this.json) process.stdout.write(JSON.stringify({ error: message }) + '\n');
    else process.stderr.write(`simclr: ${message}\n`);
  }
}
