/** A real, ephemeral Temporal dev server per suite (infra/ephemeral-temporal.ts). */
export { startEphemeralTemporal as startTestTemporal } from '../../infra/ephemeral-temporal';
