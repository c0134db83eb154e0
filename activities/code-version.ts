/**
 * The version of the code a worker runs, for a run's lineage: the git commit of its checkout (with
 * `-dirty` when it has uncommitted changes), else `<package name>@<version>` (an installed copy).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
let cached: string | undefined;

function git(args: string[]): string {
  return execFileSync('git', args, {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
}

export function codeVersion(): string {
  if (cached) return cached;
  try {
    const sha = git(['rev-parse', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
    cached = `git:${sha}${dirty ? '-dirty' : ''}`;
  } catch {
    const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    cached = `${pkg.name}@${pkg.version}`;
  }
  return cached;
}
