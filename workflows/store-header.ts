/**
 * Carries the experiment's store identity (storage/store-id.ts: an id and a credential-free location,
 * never credentials) from the workflow input to every activity, as a Temporal header: the experiment
 * workflow reads it from its input (`ExperimentInput.store`), child workflows (the pretrain loop) and
 * continue-as-new runs from their own headers, and every activity they schedule gets it, where
 * activities/interceptors.ts checks the worker's store against it.
 *
 * Headers are not part of the commands Temporal compares on replay, and a run without a store in its
 * input (every run recorded before this existed) schedules exactly what it did before: no patch needed.
 * Registered as a workflow interceptor module by workers/run-workers.ts.
 */
import {
  defaultPayloadConverter,
  type Payload,
  type WorkflowInterceptors,
  type WorkflowInterceptorsFactory,
} from '@temporalio/workflow';

import { STORE_HEADER } from '../contracts/store';

export { STORE_HEADER };

/** The header payload a workflow's input asks for, when its first argument names a store. */
function fromInput(args: unknown[]): Payload | undefined {
  const store = (args[0] as { store?: { id?: unknown; location?: unknown } } | undefined)?.store;
  if (!store || typeof store.id !== 'string' || typeof store.location !== 'string') return undefined;
  return defaultPayloadConverter.toPayload({ id: store.id, location: store.location });
}

/** One per workflow execution (the SDK calls the factory for each), so the header is this run's. */
export const interceptors: WorkflowInterceptorsFactory = (): WorkflowInterceptors => {
  let header: Payload | undefined;
  const withHeader = <T extends { headers: Record<string, Payload> }>(input: T): T =>
    header ? { ...input, headers: { ...input.headers, [STORE_HEADER]: header } } : input;
  return {
    inbound: [
      {
        execute(input, next) {
          header = input.headers[STORE_HEADER] ?? fromInput(input.args);
          return next(input);
        },
      },
    ],
    outbound: [
      {
        scheduleActivity: (input, next) => next(withHeader(input)),
        scheduleLocalActivity: (input, next) => next(withHeader(input)),
        startChildWorkflowExecution: (input, next) => next(withHeader(input)),
        continueAsNew: (input, next) => next(withHeader(input)),
      },
    ],
  };
};
