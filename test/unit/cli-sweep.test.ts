import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../cli/commands/sweep';
import type { RunSnapshot } from '../../cli/snapshot';
import { variantProgressLine } from '../../cli/sweep-view';
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

test("a running variant's progress line is its experiment's stage line, named; a closed one has none", () => {
  const running: RunSnapshot = {
    experimentId: 'full-1/tau-0.1',
    runId: 'r1',
    status: 'RUNNING',
    closed: false,
    startTime: '2026-01-01T00:00:00.000Z',
    elapsedSeconds: 300,
    stage: 'pretrain',
    activities: [],
    noWorker: false,
    pretrain: {
      epoch: 5,
      epochs: 15,
      step: 120,
      stepsPerEpoch: 234,
      loss: 4.1234,
      knnTop1: 0.801,
      fraction: (5 + 120 / 234) / 15,
    },
  };
  assert.equal(
    variantProgressLine('tau-0.1', running),
    '  tau-0.1  pretrain 36.8 %  epoch 6/15  step 120/234  loss 4.1234  kNN top-1 80.1 %',
  );
  assert.equal(
    variantProgressLine('tau-0.1', { ...running, stage: 'shard', pretrain: undefined }),
    '  tau-0.1  shard',
  );
  assert.equal(variantProgressLine('tau-0.1', { ...running, closed: true, status: 'COMPLETED' }), undefined);
});
