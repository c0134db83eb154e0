import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../cli/commands/sweep';
import { CliError, EXIT_USAGE, Output } from '../../cli/output';

/** The usage error `simclr sweep argv` ends with; it must come before any connection to Temporal. */
async function usageError(argv: string[]): Promise<CliError> {
  try {
    await run([...argv, '--address', '127.0.0.1:1'], new Output(true));
  } catch (err) {
    assert.ok(err instanceof CliError, String(err));
    assert.equal(err.exitCode, EXIT_USAGE, err.message);
    return err;
  }
  assert.fail('expected a usage error');
}

test('simclr sweep refuses a bad variant before starting anything, naming the file, variant and field', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'simclr-cli-sweep-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      `name: bad
base: { name: b, dataset: { source: /d } }
variants:
  - name: fine
  - name: broken
    set: { pretrain.temperature: -1 }
`,
    );
    const err = await usageError([file]);
    assert.match(err.message, /bad\.yaml \(variant 'broken'\)/);
    assert.match(
      err.message,
      /pretrain\.temperature \(line 6, column \d+\): expected a number > 0, found -1/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('simclr sweep: an unknown preset, or a file and a preset together, is a usage error', async () => {
  assert.match((await usageError(['--preset', 'augmentation'])).message, /did you mean "augmentations"/);
  assert.match((await usageError(['x.yaml', '--preset', 'head'])).message, /not both/);
  assert.match((await usageError(['--preset', 'head', '--id', 'a/b'])).message, /--id 'a\/b'/);
});
