/**
 * What every activity of a worker goes through, in one place (registered by workers/run-workers.ts):
 *
 * 1. The store check. An experiment carries the identity of its store (storage/store-id.ts; the
 *    header is set by workflows/store-header.ts). An activity on a worker whose store is another one
 *    (started without SIMCLR_STORE while the run's data is in MinIO, say) fails at once with a
 *    StoreMismatchError naming both stores, in the failure (so in `simclr status` and the web UI) and
 *    as a warning in the worker log, instead of failing later on missing data ("no committed
 *    checkpoint"). The failure is retryable on purpose: the next attempt may go to a correctly
 *    configured worker on the same queue, and one misconfigured worker must not fail the experiment;
 *    each attempt it takes fails within milliseconds, and its message says which worker to fix.
 * 2. Redaction. Whatever an activity throws is redacted (storage/redact.ts) before the SDK logs it
 *    and records it as the attempt's failure, so no credential reaches the worker log or the workflow
 *    history, whichever path the error took.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptorsFactory,
  Next,
} from '@temporalio/worker';
import { redactError } from '../storage/redact';
import { storeIdentity, type StoreRef } from '../storage/store-id';
import { STORE_HEADER } from '../contracts/store';
import { activityStore } from './context';

/** The failure type of an activity that ran on a worker whose store is not the experiment's. */
export const STORE_MISMATCH = 'StoreMismatchError';

/** The experiment's store as its header names it, or undefined for runs that carry none. */
function expectedStore(input: ActivityExecuteInput): StoreRef | undefined {
  const payload = input.headers[STORE_HEADER];
  if (!payload) return undefined;
  const ref = defaultPayloadConverter.fromPayload<Partial<StoreRef>>(payload);
  return typeof ref?.id === 'string' && typeof ref.location === 'string'
    ? { id: ref.id, location: ref.location }
    : undefined;
}

/** The message of a mismatch: both stores, and what to do. */
export function storeMismatchMessage(workflowId: string, expected: StoreRef, mine: StoreRef): string {
  return (
    `this worker uses the store ${mine.location} (store id ${mine.id}), but ${workflowId} keeps its data in ` +
    `${expected.location} (store id ${expected.id}): restart this worker with SIMCLR_STORE=${expected.location} ` +
    `(for s3:// also SIMCLR_S3_ENDPOINT and the credentials), or stop it; ` +
    `a worker on the right store takes the retry`
  );
}

class StoreCheckAndRedact implements ActivityInboundCallsInterceptor {
  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>) {
    try {
      const expected = expectedStore(input);
      if (expected) {
        const mine = await storeIdentity(await activityStore());
        if (mine.id !== expected.id) {
          const ctx = Context.current();
          const message = storeMismatchMessage(
            ctx.info.workflowExecution?.workflowId ?? 'the experiment',
            expected,
            mine,
          );
          ctx.log.warn(`${STORE_MISMATCH}: ${ctx.info.activityType}: ${message}`);
          throw ApplicationFailure.create({ message, type: STORE_MISMATCH, nonRetryable: false });
        }
      }
      return await next(input);
    } catch (err) {
      throw redactError(err);
    }
  }
}

/** The activity interceptors of every simclr worker. */
export const activityInterceptors: ActivityInterceptorsFactory[] = [
  () => ({ inbound: new StoreCheckAndRedact() }),
];
