/** A real, ephemeral Temporal dev server per suite (infra/ephemeral-temporal.ts), and workers on it. */
import { temporalTarget } from '../../infra/temporal-connection';
import { startWorkers, type WorkersHandle } from '../../workers/run-workers';

export { startEphemeralTemporal as startTestTemporal } from '../../infra/ephemeral-temporal';

/** This process's cpu and gpu workers on a test server, on the store $SIMCLR_STORE / $SIMCLR_HOME name. */
export function startTestWorkers(temporal: { address: string }): Promise<WorkersHandle> {
  return startWorkers({ queues: ['cpu', 'gpu'], target: temporalTarget({ address: temporal.address }) });
}
