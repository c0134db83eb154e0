/**
 * Where an experiment's report artifacts live in the store: metrics chunks and the merged
 * metrics.jsonl, report.json, report.html, charts/, tensorboard/ under experiments/<id>/. The keys are
 * built in storage/layout.ts, with every other prefix of the store; re-exported here for the report
 * modules.
 */
export { experimentKey, experimentPrefix, reportKeys } from '../storage/layout';
