/**
 * A real, ephemeral Temporal dev server for the tests and the benchmarks: the Go-built `temporal`
 * binary when it is there (infra/install-services.sh), else the SDK's own cached download. The
 * project's search attributes are registered, as on `simclr services up`.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findBinary } from './binaries';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

export async function startEphemeralTemporal(): Promise<TestWorkflowEnvironment> {
  const path = findBinary('temporal');
  return TestWorkflowEnvironment.createLocal({
    server: {
      ...(path ? { executable: { type: 'existing-path' as const, path } } : {}),
      ip: '127.0.0.1',
      searchAttributes: ALL_SEARCH_ATTRIBUTES,
      extraArgs: ['--log-level', 'error'],
    },
  });
}
