/**
 * Writes the workflow bundle to a file, for workers started with SIMCLR_WORKFLOW_BUNDLE=<file>
 * (workers/workflow-bundle.ts). The container images run it at build time so that a worker does not
 * bundle at every start.
 *
 * Usage: node --import tsx infra/build-workflow-bundle.ts <output file>
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { bundleWorkflows } from '../workers/workflow-bundle';

async function main(): Promise<void> {
  const [out] = process.argv.slice(2);
  if (!out) {
    console.error('usage: node --import tsx infra/build-workflow-bundle.ts <output file>');
    process.exit(2);
  }
  const path = resolve(out);
  const { code } = await bundleWorkflows();
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, code);
  console.log(`workflow bundle: ${path} (${(code.length / 1e6).toFixed(1)} MB)`);
}

main().catch((err: unknown) => {
  console.error(`build-workflow-bundle: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
