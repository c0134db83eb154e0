/**
 * What every activity of a worker goes through, in one place (registered by workers/run-workers.ts):
 * whatever an activity throws is redacted (storage/redact.ts) before the SDK logs it and records it as
 * the attempt's failure, so no credential reaches the worker log or the workflow history, whichever
 * path the error took.
 */
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptorsFactory,
  Next,
} from '@temporalio/worker';
import { redactError } from '../storage/redact';

class RedactFailures implements ActivityInboundCallsInterceptor {
  async execute(
    input: ActivityExecuteInput,
    next: Next<ActivityInboundCallsInterceptor, 'execute'>,
  ): Promise<unknown> {
    try {
      return await next(input);
    } catch (err) {
      throw redactError(err);
    }
  }
}

/** The activity interceptors of every simclr worker. */
export const activityInterceptors: ActivityInterceptorsFactory[] = [
  () => ({ inbound: new RedactFailures() }),
];
