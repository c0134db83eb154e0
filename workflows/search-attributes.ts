/**
 * Typed search attributes that mirror an experiment's state, so the Temporal web UI can list and filter
 * runs by stage, epoch, loss, accuracy, dataset, schedule and encoder. Registered by the dev server at
 * start (infra/temporal.ts, `simclr services up`) and by the tests' server (infra/ephemeral-temporal.ts);
 * on a production cluster with `temporal operator search-attribute create` (README, "Monitoring in the
 * web UI"). Upserted by the workflows as they progress; SimclrSchedule is set by the schedule that starts
 * a retraining run.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA_EXPERIMENT = defineSearchAttributeKey('SimclrExperiment', SearchAttributeType.KEYWORD);
export const SA_STAGE = defineSearchAttributeKey('SimclrStage', SearchAttributeType.KEYWORD);
export const SA_EPOCH = defineSearchAttributeKey('SimclrEpoch', SearchAttributeType.INT);
export const SA_LOSS = defineSearchAttributeKey('SimclrLoss', SearchAttributeType.DOUBLE);
export const SA_TOP1 = defineSearchAttributeKey('SimclrTop1', SearchAttributeType.DOUBLE);
/** The content-addressed dataset id (datasets/<id>/), known once the dataset is inspected. */
export const SA_DATASET = defineSearchAttributeKey('SimclrDatasetId', SearchAttributeType.KEYWORD);
/** The schedule that started the run (absent on runs started by hand). */
export const SA_SCHEDULE = defineSearchAttributeKey('SimclrSchedule', SearchAttributeType.KEYWORD);
/** The encoder architecture (config model.encoder, e.g. resnet18). */
export const SA_ENCODER = defineSearchAttributeKey('SimclrEncoder', SearchAttributeType.KEYWORD);

export const ALL_SEARCH_ATTRIBUTES = [
  SA_EXPERIMENT,
  SA_STAGE,
  SA_EPOCH,
  SA_LOSS,
  SA_TOP1,
  SA_DATASET,
  SA_SCHEDULE,
  SA_ENCODER,
];
