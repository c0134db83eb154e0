/**
 * The retrain workflow: what a Temporal Schedule (`simclr schedule create`) starts. It asks a CPU
 * activity whether there is anything new to learn from (dataset fingerprint and config hash against
 * the schedule's last successful run), and either closes as skipped, saying why, or runs the
 * experiment as a child workflow with the run's lineage (and the warm-start checkpoint) in its input.
 * The child promotes its encoder to the schedule's current model when it is good enough; this workflow
 * then records the completed run, which the next run compares with.
 */
import { executeChild, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { activityProxies } from './activity-proxies';
import { percent } from './activity-results';
import { experiment } from './experiment';
import { SA_EXPERIMENT, SA_SCHEDULE } from './search-attributes';
import type { ExperimentInput, RetrainInput, RetrainResult } from '../contracts';
import { runMemo, staticDetailsOf } from './run-metadata';

/** A workflow id as a run's experiment id: one key segment of letters, digits, '.', '_' and '-'. */
function experimentIdOf(schedule: string, workflowId: string, startTime: Date, manual: boolean): string {
  // A schedule's runs are `retrain-<schedule>-<ISO time>` (Temporal appends the time), as are forced ones.
  const m = /-(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(workflowId);
  const stamp = m
    ? `${m[1]}${m[2]}${m[3]}-${m[4]}${m[5]}${m[6]}`
    : startTime.toISOString().replace(/[-:]/g, '').replace('T', '-').replace(/\..*$/, '');
  return `${schedule}-${stamp}${manual ? '-manual' : ''}`;
}

export async function retrain(input: RetrainInput): Promise<RetrainResult> {
  const { schedule, config, options } = input;
  const { cpu } = activityProxies(config.orchestration);
  const info = workflowInfo();
  const trigger = input.trigger ?? 'schedule';
  const experimentId = experimentIdOf(schedule, info.workflowId, info.startTime, trigger === 'manual');
  upsertSearchAttributes([{ key: SA_SCHEDULE, value: schedule }]);
  setCurrentDetails(`**${schedule}** — checking the dataset and config against the last successful run`);

  const plan = await cpu.planRetrain({ schedule, experimentId, config, options, trigger });
  if (plan.action === 'skip') {
    setCurrentDetails(`**${schedule}** — skipped: ${plan.reason}`);
    return { schedule, status: 'skipped', reason: plan.reason, lineage: plan.lineage };
  }

  setCurrentDetails(`**${schedule}** — training ${experimentId}: ${plan.reason}`);
  const childInput: ExperimentInput = {
    experimentId,
    config,
    store: input.store,
    webUiUrl: input.webUiBase ? `${input.webUiBase}${encodeURIComponent(experimentId)}` : undefined,
    retrain: { lineage: plan.lineage, tolerancePoints: options.promotionTolerancePoints },
  };
  const results = await executeChild(experiment, {
    workflowId: experimentId,
    args: [childInput],
    typedSearchAttributes: [
      { key: SA_EXPERIMENT, value: experimentId },
      { key: SA_SCHEDULE, value: schedule },
    ],
    // The memo and details of any experiment (workflows/run-metadata.ts), and where it came from.
    memo: { ...runMemo(childInput), lineage: plan.lineage },
    staticSummary: `SimCLR retrain of schedule ${schedule}: ${plan.reason}`,
    staticDetails: staticDetailsOf(childInput),
  }).catch((err: unknown) => {
    // The run fails with its experiment (the schedule pauses on it with --pause-on-failure); say which.
    setCurrentDetails(`**${schedule}** — ${experimentId} failed: ${innermostMessage(err)}`);
    throw err;
  });
  await cpu.recordScheduledRun({
    experimentId,
    lineage: plan.lineage,
    completedAt: new Date().toISOString(),
    linearTop1: results.pretrained.linear.top1,
    knnTop1: results.pretrained.knn.top1,
    checkpoint: results.promotion?.checkpoint,
    promotion: results.promotion,
  });
  const report = `${results.storeLocation}/${results.reportHtmlKey}`;
  setCurrentDetails(
    `**${schedule}** — ${experimentId} completed: linear top-1 ${percent(results.pretrained.linear.top1)}` +
      (results.promotion
        ? `\n\n${results.promotion.promoted ? 'promoted' : 'not promoted'}: ${results.promotion.reason}`
        : '') +
      `\n\nreport: ${report}`,
  );
  return {
    schedule,
    status: 'completed',
    reason: plan.reason,
    experimentId,
    lineage: plan.lineage,
    linearTop1: results.pretrained.linear.top1,
    promotion: results.promotion,
    report,
  };
}

/** The innermost message of a child's failure (ChildWorkflowFailure → ApplicationFailure → …). */
function innermostMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && (e as { cause?: unknown }).cause instanceof Error) e = (e as Error).cause;
  return e instanceof Error ? e.message : String(e);
}
