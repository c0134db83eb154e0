/**
 * The baselines an experiment asks for (`evaluation.baselines`), also for an experiment config written
 * before that section existed (a run started by an older client, whose input the schema never
 * defaulted): it gets the defaults, as a new file would. Pure: safe in workflows.
 *
 * @example
 *   if (baselinesOf(config).pixels) await gpu.evaluateRepresentation({ ...ref, encoder: 'pixels' });
 */
import { PAPER_DEFAULTS } from './defaults';
import type { BaselinesConfig, ExperimentConfig } from './schema';

export function baselinesOf(config: ExperimentConfig): BaselinesConfig {
  return { ...PAPER_DEFAULTS.baselines, ...(config.evaluation.baselines as BaselinesConfig | undefined) };
}
