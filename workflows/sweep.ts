/**
 * The sweep workflow: runs one child `experiment` per variant on the worker pool, at most
 * `maxParallel` at a time, then writes the sweep report (comparison table, charts, the paper's
 * expected directions checked) on a CPU worker.
 *
 * Re-runnable under the same id: variants whose experiment already completed with the same config
 * (its report.json is in the store) are skipped, the others start with `resume`, so a variant
 * interrupted mid-training continues from its last checkpoint. Children are `<sweepId>/<variant>`.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { cpu } from './activity-proxies';
import { experiment } from './experiment';
import {
  sweepChildExperimentId,
  sweepChildWorkflowId,
  type SweepInput,
  type SweepProgress,
  type SweepResults,
  type SweepStage,
  type SweepVariantInput,
} from '../contracts/sweep';

export const sweepProgressQuery = defineQuery<SweepProgress>('sweepProgress');

export async function sweep(input: SweepInput): Promise<SweepResults> {
  const { sweepId } = input;
  const progress: SweepProgress = {
    sweepId,
    name: input.name,
    stage: 'running',
    maxParallel: input.maxParallel,
    variants: input.variants.map((v) => ({
      name: v.name,
      experimentId: sweepChildExperimentId(sweepId, v.name),
      workflowId: sweepChildWorkflowId(sweepId, v.name),
      state: 'pending',
    })),
  };
  setHandler(sweepProgressQuery, () => progress);
  const stateOf = (name: string) => progress.variants.find((v) => v.name === name)!;
  const enter = (stage: SweepStage) => {
    progress.stage = stage;
    const count = (s: string) => progress.variants.filter((v) => v.state === s).length;
    setCurrentDetails(
      `**sweep ${sweepId}** — ${stage}: ${count('completed') + count('skipped')}/${progress.variants.length} variants done` +
        (count('running')
          ? `, running: ${progress.variants
              .filter((v) => v.state === 'running')
              .map((v) => v.name)
              .join(', ')}`
          : '') +
        (count('failed') ? `, failed: ${count('failed')}` : ''),
    );
  };

  try {
    enter('running');
    const done = await cpu.findCompletedExperiments({
      experiments: input.variants.map((v) => ({
        experimentId: sweepChildExperimentId(sweepId, v.name),
        config: v.config,
      })),
    });
    for (const d of done) {
      const s = progress.variants.find((v) => v.experimentId === d.experimentId);
      if (s) Object.assign(s, { state: 'skipped', linearTop1: d.linearTop1, knnTop1: d.knnTop1 });
    }
    enter('running');

    const pending = input.variants.filter((v) => stateOf(v.name).state === 'pending');
    const busyStreams = new Set<string>();
    const runChild = async (v: SweepVariantInput) => {
      const state = stateOf(v.name);
      state.state = 'running';
      enter('running');
      try {
        const results = await executeChild(experiment, {
          workflowId: state.workflowId,
          args: [{ experimentId: state.experimentId, config: v.config, resume: true }],
          // A failed, cancelled or terminated child runs again (resuming from its checkpoint); a
          // completed one keeps its id and is found by findCompletedExperiments instead.
          workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        });
        Object.assign(state, {
          state: 'completed',
          linearTop1: results.pretrained.linear.top1,
          knnTop1: results.pretrained.knn.top1,
        });
      } catch (err) {
        if (isCancellation(err)) throw err;
        state.state = 'failed';
        state.error =
          err instanceof WorkflowExecutionAlreadyStartedError
            ? `its experiment ${state.workflowId} already exists (running, or completed with another config); ` +
              'run the sweep under a new id'
            : failureMessage(err);
      }
      enter('running');
    };
    // Bounded parallelism: `maxParallel` lanes take the next variant whose views are not in use.
    const lane = async () => {
      for (;;) {
        await condition(() => pending.length === 0 || pending.some((v) => !busyStreams.has(v.viewStream)));
        const i = pending.findIndex((v) => !busyStreams.has(v.viewStream));
        if (i < 0) return;
        const [v] = pending.splice(i, 1);
        busyStreams.add(v.viewStream);
        try {
          await runChild(v);
        } finally {
          busyStreams.delete(v.viewStream);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(input.maxParallel, pending.length)) }, lane));

    enter('report');
    const report = await cpu.writeSweepReport({
      sweepId,
      name: input.name,
      description: input.description,
      source: input.source,
      workflowId: workflowInfo().workflowId,
      runId: workflowInfo().runId,
      webUiUrl: input.webUiUrl,
      maxParallel: input.maxParallel,
      variants: input.variants.map((v) => ({
        ...stateOf(v.name),
        description: v.description,
        knobs: v.knobs,
      })),
      expectations: input.expectations,
    });
    const results: SweepResults = { ...report, variants: progress.variants };
    progress.results = results;
    const failed = progress.variants.filter((v) => v.state === 'failed');
    if (failed.length > 0) {
      throw ApplicationFailure.nonRetryable(
        `${failed.length} of ${progress.variants.length} variants failed (${failed.map((f) => `${f.name}: ${f.error}`).join('; ')}); ` +
          `the report covers the others. Run the sweep again under the id ${sweepId} to resume the failed ones.`,
        'SweepIncomplete',
      );
    }
    enter('done');
    return results;
  } catch (err) {
    progress.error = err instanceof Error ? err.message : String(err);
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => enter('cancelled'));
    } else {
      enter('failed');
    }
    throw err;
  }
}

/** The innermost message of a child's failure (ChildWorkflowFailure → ApplicationFailure → …). */
function failureMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && (e as { cause?: unknown }).cause instanceof Error) e = (e as Error).cause;
  return e instanceof Error ? e.message : String(e);
}
