/**
 * The pretraining loop: for each epoch, make sure the views of the next K epochs are being
 * precomputed on CPU workers (bounded look-ahead), wait for this epoch's views, run pretrainEpoch on a
 * GPU worker, then delete the consumed views so storage stays O(K × dataset). Continues-as-new before
 * the history grows large, carrying the state (epoch, checkpoint, per-epoch results).
 *
 * History bound (BOUNDED_HISTORY_PATCH; config/history-bounds.ts): the inputs carry a DatasetRef, not
 * the manifest, and an epoch's views are precomputed by at most 32 activities (ranges of shards), so
 * an epoch adds about 125 events and 80 KB (each input is the ~1.3 KB config and references) whatever
 * the dataset size. A run continues as new after pretrain.epochsPerRun epochs (25), or after the epoch
 * during which it passed 4,000 events or 4 MB, so every run stays under 5,000 events and 5 MB. At
 * ImageNet size (626 train shards, 100 epochs) each of the 4 runs measures 2.0 MB and 3,000-3,160
 * events (README "History size", test/integration/history-scale.test.ts); before the bound, its first
 * workflow task alone scheduled 1,252 precompute inputs of ~68 KB each (~83 MB).
 */
import {
  continueAsNew,
  defineQuery,
  getExternalWorkflowHandle,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { activityProxies } from './activity-proxies';
import { checkedEpochResult } from './activity-results';
import { epochDoneSignal, WEB_UI_PATCH, type EpochDone } from './progress-signal';
import { detailsText, pretrainLine } from './run-details';
import { SA_EPOCH, SA_EXPERIMENT, SA_LOSS, SA_STAGE } from './search-attributes';
import { BOUNDED_HISTORY_PATCH, rangeText, shardRanges } from './shard-ranges';
import { HISTORY_BOUNDS } from '../config/history-bounds';
import {
  shardCount,
  type DatasetManifest,
  type PretrainLoopInput,
  type PretrainLoopProgress,
} from '../contracts';

export const pretrainProgressQuery = defineQuery<PretrainLoopProgress>('pretrainProgress');

export async function pretrainLoop(input: PretrainLoopInput): Promise<PretrainLoopProgress> {
  const { experimentId, config, dataset, augmentationId } = input;
  const { summarized } = activityProxies(config.orchestration);
  const epochs = config.pretrain.epochs;
  const lookahead = config.augmentation.lookaheadEpochs;
  const shards = shardCount(dataset, 'train');
  // Runs that started before it replay with one activity per (epoch, shard) and the manifest in each.
  const bounded = patched(BOUNDED_HISTORY_PATCH);
  const state: PretrainLoopProgress = {
    epoch: input.startEpoch,
    epochs,
    checkpoint: input.checkpoint,
    history: input.history,
    augmentationWaitMs: input.augmentationWaitMs,
  };
  setHandler(pretrainProgressQuery, () => state);

  const precomputed = new Map<number, Promise<unknown>>();
  const precompute = (epoch: number) => {
    if (epoch >= epochs || precomputed.has(epoch)) return;
    const jobs: Promise<unknown>[] = [];
    if (bounded) {
      for (const range of shardRanges(shards)) {
        const { cpu } = summarized(`augment epoch ${epoch + 1}/${epochs}, shard ${rangeText(range, shards)}`);
        jobs.push(cpu.precomputeAugmentationRange({ config, dataset, augmentationId, epoch, shards: range }));
      }
    } else {
      // An execution from before the patch: its input is the whole manifest.
      const manifest = dataset as DatasetManifest;
      for (let shard = 0; shard < shards; shard++) {
        const { cpu } = summarized(`augment epoch ${epoch + 1}/${epochs}, shard ${shard + 1}/${shards}`);
        jobs.push(cpu.precomputeAugmentations({ config, dataset: manifest, augmentationId, epoch, shard }));
      }
    }
    const all = Promise.all(jobs);
    all.catch(() => undefined); // awaited (and so surfaced) when its epoch comes
    precomputed.set(epoch, all);
  };

  const firstEpochOfRun = input.startEpoch;
  for (let epoch = input.startEpoch; epoch < epochs; epoch++) {
    for (let e = epoch; e < epoch + lookahead; e++) precompute(e);
    const waitStart = Date.now();
    await precomputed.get(epoch);
    state.augmentationWaitMs += Date.now() - waitStart;

    const { pretrain } = summarized(`pretrain epoch ${epoch + 1}/${epochs}`);
    const reply = await pretrain.pretrainEpoch({
      experimentId,
      config,
      dataset,
      augmentationId,
      epoch,
      stepsPerEpoch: input.stepsPerEpoch,
      checkpoint: state.checkpoint,
      // Only the first epoch of a warm-started run has no checkpoint of its own.
      warmStartFrom: state.checkpoint ? undefined : input.warmStartFrom,
    });
    // A malformed reply fails the run, naming the field, instead of a TypeError that wedges it.
    const result = checkedEpochResult(reply, epoch);
    state.history.push(result);
    state.checkpoint = result.checkpoint;
    state.epoch = epoch + 1;
    upsertSearchAttributes([
      { key: SA_EXPERIMENT, value: experimentId },
      { key: SA_STAGE, value: 'pretrain' },
      { key: SA_EPOCH, value: epoch + 1 },
      { key: SA_LOSS, value: result.meanLoss },
    ]);
    const position = {
      epochs,
      stepsPerEpoch: input.stepsPerEpoch,
      batchSize: config.pretrain.batchSize,
      history: state.history,
    };
    setCurrentDetails(
      detailsText(experimentId, 'pretrain', [pretrainLine(position), `checkpoint: ${result.checkpoint}`]),
    );
    const parent = workflowInfo().parent;
    if (parent && patched(WEB_UI_PATCH)) {
      const done: EpochDone = {
        result,
        epochs,
        stepsPerEpoch: input.stepsPerEpoch,
        batchSize: config.pretrain.batchSize,
      };
      await getExternalWorkflowHandle(parent.workflowId, parent.runId)
        .signal(epochDoneSignal, done)
        .catch(() => undefined); // the experiment's details are a view: never fail pretraining for them
    }
    const { cpu } = summarized(`delete the views of epoch ${epoch + 1}`);
    await cpu.deleteAugmentations({ dataset, augmentationId, epoch });

    const ranThisRun = epoch + 1 - firstEpochOfRun;
    if (
      epoch + 1 < epochs &&
      (ranThisRun >= config.pretrain.epochsPerRun ||
        workflowInfo().continueAsNewSuggested ||
        (bounded && historyPastBound()))
    ) {
      await continueAsNew<typeof pretrainLoop>({
        ...input,
        startEpoch: epoch + 1,
        checkpoint: state.checkpoint,
        history: state.history,
        augmentationWaitMs: state.augmentationWaitMs,
      });
    }
  }
  return state;
}

/** Whether this run's history passed the size after which it continues as new (config/history-bounds.ts). */
function historyPastBound(): boolean {
  const { historyLength, historySize } = workflowInfo();
  return (
    historyLength >= HISTORY_BOUNDS.continueAsNewEvents || historySize >= HISTORY_BOUNDS.continueAsNewBytes
  );
}
