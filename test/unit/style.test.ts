/**
 * The code style is part of the suite: every file is formatted by prettier (.prettierrc.json) and
 * passes eslint (eslint.config.mjs). A failure lists the files; `npm run format` and `npm run lint`
 * fix or explain them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

function run(command: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync(bin(command), args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('code style', () => {
  it('every file is formatted by prettier (npm run format)', () => {
    const r = run('prettier', ['--check', '--log-level', 'warn', '.']);
    assert.equal(r.status, 0, `prettier --check found unformatted files:\n${r.output}`);
  });

  it('eslint reports no problem (npm run lint)', () => {
    const r = run('eslint', ['--max-warnings', '0', '.']);
    assert.equal(r.status, 0, `eslint:\n${r.output}`);
  });
});
