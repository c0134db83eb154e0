/**
 * What the open runs of a namespace use in the store, from Temporal's visibility store and the
 * inputs of the open workflows (the first event of each current run): the experiment ids with an open
 * run, the views ids their pretrain loops read, and the dataset sources they may still be reading.
 * `simclr gc` deletes nothing of what this names.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { ExperimentInput, PretrainLoopInput } from '../contracts';
import { sweepChildExperimentId, type SweepInput } from '../contracts';
import { EXPERIMENT_WORKFLOW_TYPE } from './snapshot';

export interface OpenRuns {
  namespace: string;
  /** Experiment ids with an open experiment workflow or pretrain loop (or a variant of an open sweep). */
  experimentIds: Set<string>;
  /** Views ids (storage/layout.ts) that open pretrain loops read, legacy shared ids included. */
  viewsIds: Set<string>;
  /** s3:// dataset sources of the open experiments (their mirrors may still be read). */
  s3Sources: Set<string>;
  /** Open workflows by type, for the summary. */
  byType: Record<string, number>;
}

/** The input the current run of a workflow was started with (continue-as-new carries it forward). */
async function startInput<T>(client: Client, workflowId: string, runId: string): Promise<T | undefined> {
  const res = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId, runId },
    maximumPageSize: 1,
  });
  const payload = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload<T>(payload as Payload) : undefined;
}

/**
 * The open runs of the client's namespace. Throws when Temporal cannot answer: without knowing the
 * open runs nothing may be deleted.
 */
export async function openRuns(client: Client): Promise<OpenRuns> {
  const open: OpenRuns = {
    namespace: client.options.namespace,
    experimentIds: new Set(),
    viewsIds: new Set(),
    s3Sources: new Set(),
    byType: {},
  };
  for await (const wf of client.workflow.list({ query: `ExecutionStatus = 'Running'` })) {
    open.byType[wf.type] = (open.byType[wf.type] ?? 0) + 1;
    if (wf.type === EXPERIMENT_WORKFLOW_TYPE) {
      const input = await startInput<ExperimentInput>(client, wf.workflowId, wf.runId);
      if (input?.experimentId) open.experimentIds.add(input.experimentId);
      const source = input?.config?.dataset?.source;
      if (typeof source === 'string' && source.startsWith('s3://')) open.s3Sources.add(source);
    } else if (wf.type === 'pretrainLoop') {
      const input = await startInput<PretrainLoopInput>(client, wf.workflowId, wf.runId);
      if (input?.experimentId) open.experimentIds.add(input.experimentId);
      if (input?.augmentationId) open.viewsIds.add(input.augmentationId);
    } else if (wf.type === 'sweep') {
      // Variants not started yet have no workflow of their own; their ids are reserved all the same.
      const input = await startInput<SweepInput>(client, wf.workflowId, wf.runId);
      for (const v of input?.variants ?? [])
        if (input) open.experimentIds.add(sweepChildExperimentId(input.sweepId, v.name));
    }
  }
  return open;
}
