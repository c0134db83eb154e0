/**
 * Typed search attributes that mirror an experiment's state, so the Temporal web UI can list and filter
 * runs by stage, epoch, loss and accuracy. Registered by the dev server at start (infra/temporal.ts) and
 * by the test server (test/helpers/temporal.ts); upserted by the workflows as they progress.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA_EXPERIMENT = defineSearchAttributeKey('SimclrExperiment', SearchAttributeType.KEYWORD);
export const SA_STAGE = defineSearchAttributeKey('SimclrStage', SearchAttributeType.KEYWORD);
export const SA_EPOCH = defineSearchAttributeKey('SimclrEpoch', SearchAttributeType.INT);
export const SA_LOSS = defineSearchAttributeKey('SimclrLoss', SearchAttributeType.DOUBLE);
export const SA_TOP1 = defineSearchAttributeKey('SimclrTop1', SearchAttributeType.DOUBLE);

/** The schedule a run belongs to (workflows/retrain.ts sets it on the retrain run and its experiment). */
export const SA_SCHEDULE = defineSearchAttributeKey('SimclrSchedule', SearchAttributeType.KEYWORD);

export const ALL_SEARCH_ATTRIBUTES = [SA_EXPERIMENT, SA_STAGE, SA_EPOCH, SA_LOSS, SA_TOP1, SA_SCHEDULE];
