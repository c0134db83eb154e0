/**
 * The experiment workflow: validate → shard → pretrain (child workflow, continue-as-new) → fine-tune
 * (each label fraction) → linear and kNN evaluation (pretrained and random-init baseline) → baselines
 * (raw pixels, supervised upper bound, training from scratch per label fraction) → report.
 * Orchestration only; every piece of work is a retryable activity (activities/).
 *
 * History bound (BOUNDED_HISTORY_PATCH): activities get a DatasetRef, never the manifest; sharding is at
 * most 32 range activities per split plus one commit, whatever the dataset size. What grows is one
 * epochDone signal per pretraining epoch (at most 4 events, ~1 KB) and the report's input with every
 * epoch's result (~370 bytes each): 0.33 MB and 694 events at ImageNet size with 100 epochs, about
 * 4,300 events and 2 MB at 1,000 epochs (README "History size").
 */
import {
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  executeChild,
  isCancellation,
  patched,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { baselinesOf } from '../config/baselines';
import { activityProxies } from './activity-proxies';
import { checkedRepresentationEval, percent } from './activity-results';
import { pretrainLoop } from './pretrain-loop';
import { epochDoneSignal, WEB_UI_PATCH } from './progress-signal';
import { detailsText, pretrainLine } from './run-details';
import { SA_DATASET, SA_ENCODER, SA_EXPERIMENT, SA_STAGE, SA_TOP1 } from './search-attributes';
import { BOUNDED_HISTORY_PATCH, rangeText, shardRanges } from './shard-ranges';
import {
  shardingPlanOf,
  type BaselineResults,
  type DatasetInput,
  type DatasetPlan,
  type ExperimentInput,
  type ExperimentProgress,
  type ExperimentResults,
  type FineTuneResult,
  type PretrainEpochResult,
  type PromotionDecision,
  type RepresentationEval,
  type ShardResult,
  type Stage,
} from '../contracts';

export const progressQuery = defineQuery<ExperimentProgress>('progress');

/** The patch id that adds the baselines stage (workflow versioning: old histories replay without it). */
export const BASELINES_PATCH = 'evaluation-baselines';

/**
 * The patch id from which a cancel waits for the running fine-tuning or evaluation activity to stop
 * (gpuStoppable); executions that started before it replay with `gpu`, which did not wait.
 */
export const GPU_STOP_ON_CANCEL_PATCH = 'gpu-stop-on-cancel';

/**
 * The patch id from which a run of a schedule (input.retrain) promotes its encoder before the report;
 * executions that started before it have no `retrain` input and replay without the activity.
 */
export const RETRAIN_PROMOTION_PATCH = 'retrain-promotion';

/** ' (random init 58.4 %, raw pixels 81.5 %, supervised 82.9 %)' for the closing details; '' without baselines. */
function linearBaselinesNote(randomInit?: RepresentationEval, baselines?: BaselineResults): string {
  const parts = [
    randomInit && `random init ${percent(randomInit.linear?.top1)}`,
    baselines?.pixels && `raw pixels ${percent(baselines.pixels.linear?.top1)}`,
    baselines?.supervised && `supervised ${percent(baselines.supervised.top1)}`,
  ].filter(Boolean);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/**
 * The dataset as a DatasetRef, sharded first when it is not committed yet: at most
 * HISTORY_BOUNDS.maxActivitiesPerFanOut shardDatasetRange activities per split (results are counts),
 * then commitDatasetShards, which builds the manifest from the shard markers in the store. The
 * history of this stage holds neither the shard list nor the skipped files, whatever the dataset size.
 */
async function shardBounded(
  plan: DatasetPlan,
  summarized: ReturnType<typeof activityProxies>['summarized'],
  config: ExperimentInput['config'],
): Promise<DatasetInput> {
  if (plan.committed)
    // A plan without `ref` comes from a worker that predates it: the manifest still works, only bigger.
    return (
      plan.ref ??
      (await summarized('read the dataset manifest').cpu.readDatasetManifest({ datasetId: plan.datasetId }))
    );
  const sharding = shardingPlanOf(plan);
  const jobs: Promise<unknown>[] = [];
  for (const split of ['train', 'test'] as const) {
    const shards = plan.splits[split].shards;
    for (const range of shardRanges(shards)) {
      const label = `shard ${split} ${rangeText(range, shards)}`;
      jobs.push(summarized(label).cpu.shardDatasetRange({ config, plan: sharding, split, shards: range }));
    }
  }
  await Promise.all(jobs);
  return summarized('commit the dataset').cpu.commitDatasetShards({ config, plan: sharding });
}

export async function experiment(input: ExperimentInput): Promise<ExperimentResults> {
  const { experimentId, config } = input;
  const { cpu, gpu, gpuStoppable, summarized } = activityProxies(config.orchestration);
  const progress: ExperimentProgress = {
    experimentId,
    stage: 'validate',
    epoch: 0,
    epochs: config.pretrain.epochs,
    stages: [],
    augmentationWaitMs: 0,
  };
  setHandler(progressQuery, () => progress);

  // Pretraining's epochs, as the pretrain loop signals them (WEB_UI_PATCH), for the current details.
  const epochsSeen: PretrainEpochResult[] = [];
  let pretrainDetails: string | undefined;
  setHandler(epochDoneSignal, (done) => {
    epochsSeen.push(done.result);
    progress.epoch = done.result.epoch + 1;
    progress.lastLoss = done.result.meanLoss;
    progress.lastCheckpoint = done.result.checkpoint;
    if (done.result.knnTop1 !== undefined) progress.lastKnnTop1 = done.result.knnTop1;
    if (progress.stage !== 'pretrain') return;
    pretrainDetails = pretrainLine({ ...done, history: epochsSeen });
    setCurrentDetails(detailsText(experimentId, 'pretrain', [pretrainDetails]));
  });

  const enter = (stage: Stage, details?: string) => {
    const now = new Date().toISOString();
    const last = progress.stages[progress.stages.length - 1];
    if (last && !last.endedAt) {
      last.endedAt = now;
      last.seconds = (Date.parse(now) - Date.parse(last.startedAt)) / 1000;
    }
    progress.stage = stage;
    if (stage !== 'done' && stage !== 'failed' && stage !== 'cancelled')
      progress.stages.push({ stage, startedAt: now });
    upsertSearchAttributes([
      { key: SA_EXPERIMENT, value: experimentId },
      { key: SA_STAGE, value: stage },
    ]);
    setCurrentDetails(detailsText(experimentId, stage, [details]));
  };

  try {
    enter('validate');
    const plan = await summarized(`inspect dataset ${config.dataset.source}`).cpu.inspectDataset({
      experimentId,
      config,
    });
    if (patched(WEB_UI_PATCH)) {
      upsertSearchAttributes([
        { key: SA_DATASET, value: plan.datasetId },
        { key: SA_ENCODER, value: config.model.encoder },
      ]);
      upsertMemo({
        dataset: {
          id: plan.datasetId,
          source: config.dataset.source,
          train: plan.splits.train.count,
          test: plan.splits.test.count,
        },
      });
    }

    enter(
      'shard',
      `dataset ${plan.datasetId}: ${plan.splits.train.count} train / ${plan.splits.test.count} test images`,
    );
    progress.datasetId = plan.datasetId;
    let manifest: DatasetInput;
    if (patched(BOUNDED_HISTORY_PATCH)) {
      manifest = await shardBounded(plan, summarized, config);
    } else if (plan.committed) {
      manifest = await cpu.readDatasetManifest({ datasetId: plan.datasetId });
    } else {
      const jobs: Promise<ShardResult>[] = [];
      for (const split of ['train', 'test'] as const) {
        for (let shard = 0; shard < plan.splits[split].shards; shard++) {
          const label = `shard ${split} ${shard + 1}/${plan.splits[split].shards}`;
          jobs.push(summarized(label).cpu.shardDataset({ config, plan, split, shard }));
        }
      }
      const shards = await Promise.all(jobs);
      manifest = await cpu.commitDataset({ config, plan, shards });
    }

    enter('pretrain', `${config.pretrain.epochs} epochs of ${config.model.encoder}`);
    const prep = await cpu.preparePretraining({
      experimentId,
      config,
      dataset: manifest,
      resume: input.resume ?? false,
    });
    progress.pretrainWorkflowId = `${workflowInfo().workflowId}/pretrain`;
    progress.epoch = prep.startEpoch;
    progress.resumedFrom = prep.checkpoint;
    const loop = await executeChild(pretrainLoop, {
      workflowId: progress.pretrainWorkflowId,
      args: [
        {
          experimentId,
          config,
          dataset: manifest,
          augmentationId: prep.augmentationId,
          stepsPerEpoch: prep.stepsPerEpoch,
          startEpoch: prep.startEpoch,
          checkpoint: prep.checkpoint,
          // A resumed run carries the epochs of the earlier run(s), so its report shows the whole run.
          history: prep.history ?? [],
          augmentationWaitMs: 0,
          warmStartFrom: prep.checkpoint ? undefined : input.retrain?.lineage.warmStartFrom,
        },
      ],
    });
    progress.epoch = loop.epoch;
    progress.lastCheckpoint = loop.checkpoint;
    progress.augmentationWaitMs = loop.augmentationWaitMs;
    const last = loop.history[loop.history.length - 1];
    progress.lastLoss = last?.meanLoss;
    progress.lastKnnTop1 = loop.history.filter((h) => h.knnTop1 !== undefined).pop()?.knnTop1;
    const checkpoint = loop.checkpoint;
    if (!checkpoint)
      throw ApplicationFailure.nonRetryable('pretraining produced no checkpoint', 'PipelineError');

    enter('finetune', `label fractions ${config.fineTune.labelFractions.join(', ')}`);
    // From here on the activities are long GPU work: a cancel waits until they have stopped.
    const stoppable = patched(GPU_STOP_ON_CANCEL_PATCH);
    const gpuWork = stoppable ? gpuStoppable : gpu;
    /** The gpu proxy whose activities read `summary` in the event history. */
    const gpuAs = (summary: string) => {
      const p = summarized(summary);
      return stoppable ? p.gpuStoppable : p.gpu;
    };
    const fineTune: FineTuneResult[] = [];
    for (const fraction of config.fineTune.labelFractions) {
      fineTune.push(
        await gpuAs(`fine-tune on ${percent(fraction)} of the labels`).fineTune({
          experimentId,
          config,
          dataset: manifest,
          checkpoint,
          fraction,
        }),
      );
    }

    enter('evaluate');
    const pretrained: RepresentationEval = checkedRepresentationEval(
      await gpuAs('linear + kNN evaluation of the pretrained encoder').evaluateRepresentation({
        experimentId,
        config,
        dataset: manifest,
        encoder: 'pretrained',
        checkpoint,
      }),
      'evaluateRepresentation of the pretrained encoder',
    );
    let baseline: RepresentationEval | undefined;
    if (config.evaluation.randomInitBaseline) {
      baseline = checkedRepresentationEval(
        await gpuAs('linear + kNN evaluation of the random-init encoder').evaluateRepresentation({
          experimentId,
          config,
          dataset: manifest,
          encoder: 'random-init',
        }),
        'evaluateRepresentation of the random-init encoder',
      );
    }
    upsertSearchAttributes([{ key: SA_TOP1, value: pretrained.linear.top1 }]);

    // Executions that started before the baselines existed replay without them (no marker in history).
    let baselines: BaselineResults | undefined;
    if (patched(BASELINES_PATCH)) {
      const wanted = baselinesOf(config);
      if (wanted.pixels || wanted.supervised || wanted.scratchFineTune) {
        const names = [
          wanted.pixels && 'raw pixels',
          wanted.scratchFineTune && 'training from scratch per label fraction',
          wanted.supervised && `supervised upper bound (${config.pretrain.epochs} epochs)`,
        ];
        enter('baselines', names.filter(Boolean).join(', '));
        baselines = {};
        const ref = { experimentId, config, dataset: manifest };
        if (wanted.pixels)
          baselines.pixels = checkedRepresentationEval(
            await gpuWork.evaluateRepresentation({ ...ref, encoder: 'pixels' }),
            'evaluateRepresentation of the raw pixels',
          );
        if (wanted.scratchFineTune) {
          baselines.scratchFineTune = [];
          for (const fraction of config.fineTune.labelFractions) {
            baselines.scratchFineTune.push(
              await gpuWork.fineTune({ ...ref, encoder: 'random-init', fraction }),
            );
          }
        }
        if (wanted.supervised) baselines.supervised = await gpuWork.supervisedBaseline(ref);
      }
    }

    enter('report');
    // A run of a schedule: its encoder becomes the schedule's current model, or the refusal says why.
    let promotion: PromotionDecision | undefined;
    if (input.retrain && patched(RETRAIN_PROMOTION_PATCH)) {
      promotion = await summarized('promote the encoder').cpu.promoteEncoder({
        schedule: input.retrain.lineage.schedule,
        experimentId,
        checkpoint,
        linearTop1: pretrained.linear.top1,
        tolerancePoints: input.retrain.tolerancePoints,
      });
    }
    const report = await summarized('write the report').cpu.writeExperimentReport({
      experimentId,
      workflowId: workflowInfo().workflowId,
      runId: workflowInfo().runId,
      webUiUrl: input.webUiUrl,
      config,
      dataset: manifest,
      stages: progress.stages,
      pretrain: loop.history,
      augmentationWaitMs: loop.augmentationWaitMs,
      pretrained,
      baseline,
      fineTune,
      baselines,
      lineage: input.retrain?.lineage,
      promotion,
    });
    const results: ExperimentResults = { pretrained, baseline, fineTune, baselines, ...report, promotion };
    progress.results = results;
    enter(
      'done',
      `linear top-1 ${percent(pretrained.linear.top1)}` +
        linearBaselinesNote(baseline, baselines) +
        (promotion ? `\n\n${promotion.promoted ? 'promoted' : 'not promoted'}: ${promotion.reason}` : '') +
        `\n\nreport: ${report.storeLocation}/${report.reportHtmlKey}`,
    );
    return results;
  } catch (err) {
    progress.error = err instanceof Error ? err.message : String(err);
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => enter('cancelled', progress.error));
    } else {
      enter('failed', progress.error);
    }
    throw err;
  }
}
