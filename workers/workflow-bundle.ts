/**
 * The workflow code a worker runs: bundled in the process at start-up (a few seconds of webpack and about
 * 100 MB of transient memory), or read from a file bundled ahead of time, as the container images do
 * (infra/docker/Dockerfile runs infra/build-workflow-bundle.ts at build time and sets
 * SIMCLR_WORKFLOW_BUNDLE), so a pod that scales from zero polls sooner and every replica runs the same
 * bytes.
 *
 *   SIMCLR_WORKFLOW_BUNDLE   path of a bundle written by infra/build-workflow-bundle.ts (default: bundle now)
 *
 * @example
 *   const bundle = await workflowBundleFor(process.env); // { codePath } or { code }
 *   await Worker.create({ ..., workflowBundle: bundle.option });
 */
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import {
  bundleWorkflowCode,
  type WorkflowBundleOption,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';

export const WORKFLOW_BUNDLE_ENV = 'SIMCLR_WORKFLOW_BUNDLE';

export interface ResolvedWorkflowBundle {
  option: WorkflowBundleOption;
  /** Where the code comes from, for the worker's log line. */
  source: string;
}

let inProcess: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow code bundled with the same options the prebuilt bundle uses, once per process. */
export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  inProcess ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    // The experiment's store identity, carried to every activity as a header (workflows/store-header.ts).
    workflowInterceptorModules: [require.resolve('../workflows/store-header')],
    logger: quietBundlerLogger,
  });
  return inProcess;
}

/**
 * The bundle named by SIMCLR_WORKFLOW_BUNDLE (checked readable here, so a wrong path fails at start-up
 * naming the variable), else one bundled in this process.
 */
export async function workflowBundleFor(
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedWorkflowBundle> {
  const path = env[WORKFLOW_BUNDLE_ENV];
  if (path !== undefined && path.trim() !== '') {
    const codePath = resolve(path);
    try {
      accessSync(codePath, constants.R_OK);
    } catch (err) {
      throw new Error(
        `${WORKFLOW_BUNDLE_ENV}=${path}: cannot read the prebuilt workflow bundle (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); build it with 'node --import tsx infra/build-workflow-bundle.ts <file>' or unset the variable to bundle at start-up`,
      );
    }
    return { option: { codePath }, source: `prebuilt bundle ${codePath}` };
  }
  return { option: await bundleWorkflows(), source: 'bundled at start-up' };
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => console.warn(m),
  error: (m: string) => console.error(m),
};
