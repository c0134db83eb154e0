/**
 * A real, ephemeral Temporal dev server for the tests and the benchmarks: the Go-built `temporal`
 * binary when it is there (infra/install-services.sh), else the SDK's own cached download. The
 * project's search attributes are registered, as on `simclr services up`.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findBinary } from './binaries';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

export interface EphemeralTemporalOptions {
  /** Serve the web UI on this port (the browser test); off by default, it costs a little CPU. */
  uiPort?: number;
}

export async function startEphemeralTemporal(
  opts: EphemeralTemporalOptions = {},
): Promise<TestWorkflowEnvironment> {
  const path = findBinary('temporal');
  return TestWorkflowEnvironment.createLocal({
    server: {
      ...(path ? { executable: { type: 'existing-path' as const, path } } : {}),
      ip: '127.0.0.1',
      searchAttributes: ALL_SEARCH_ATTRIBUTES,
      ...(opts.uiPort !== undefined ? { ui: true, uiPort: opts.uiPort } : {}),
      extraArgs: ['--log-level', 'error'],
    },
  });
}
