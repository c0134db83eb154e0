/**
 * What a run carries for the web UI from its start: a one-line static summary (the workflow list), static
 * details (the run's page: the configuration in a few lines), a memo with the config summary and the
 * dataset (the workflow upserts the dataset's id and split sizes once it has inspected it).
 */
import type { ExperimentInput } from '../contracts';

type RunInput = Omit<ExperimentInput, 'webUiUrl'>;

/** One line for the web UI's workflow list. */
export function summaryOf(input: RunInput): string {
  const c = input.config;
  return `SimCLR ${c.model.encoder} on ${c.dataset.source}: ${c.pretrain.epochs} epochs, batch ${c.pretrain.batchSize}${input.resume ? ' (resumed)' : ''}`;
}

/** The config summary of the memo: the knobs that tell runs apart, never secrets (none are in config). */
export function configSummary(input: RunInput) {
  const c = input.config;
  return {
    encoder: c.model.encoder,
    widthMultiplier: c.model.widthMultiplier,
    epochs: c.pretrain.epochs,
    batchSize: c.pretrain.batchSize,
    optimizer: c.pretrain.optimizer,
    learningRate: c.pretrain.learningRate ?? null,
    temperature: c.pretrain.temperature ?? null,
    labelFractions: c.fineTune.labelFractions,
    backend: c.backend,
  };
}

/** The memo a run starts with: `config` (summary) and `dataset` (its source, until the id is known). */
export function runMemo(input: RunInput): Record<string, unknown> {
  return { config: configSummary(input), dataset: { source: input.config.dataset.source } };
}

/** The run page's static details (markdown): the configuration at a glance. */
export function staticDetailsOf(input: RunInput): string {
  const s = configSummary(input);
  return [
    `**SimCLR experiment ${input.experimentId}**${input.resume ? ' (resumed from its last checkpoint)' : ''}`,
    `dataset: ${input.config.dataset.source}`,
    `encoder: ${s.encoder} ×${s.widthMultiplier} · ${s.epochs} epochs · batch ${s.batchSize} · ${s.optimizer}`,
    `fine-tuning label fractions: ${s.labelFractions.join(', ')} · backend: ${s.backend}`,
    'progress: the current details below, `simclr watch ' + input.experimentId + '` in a terminal',
  ].join('\n\n');
}
