/**
 * `simclr resume <id>`: a new run of a failed, cancelled, terminated or timed-out experiment under the
 * same id, with the same config (read from the previous run's start event) and `resume: true`, so
 * pretraining continues from the experiment's last good checkpoint and finished work is skipped.
 */
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { ExperimentInput } from '../../contracts';
import { COMMON_OPTIONS, parseCommand, positionals, TEMPORAL_OPTIONS, TEMPORAL_USAGE } from '../args';
import type { TemporalSession } from '../connect';
import { launch, sessionFor } from '../launch';
import { CliError, type Output } from '../output';
import { describeExperiment } from '../snapshot';
import { SA_STAGE } from '../../workflows/search-attributes';

export const usage = `usage: simclr resume <id> [--detach] [--embedded] [--json]

  Runs a failed, cancelled, terminated or timed-out experiment again under the same id and config,
  continuing from its last checkpoint.

  --detach              start the run, print its id and web UI link, and return
  --embedded            run the workers in this process (see 'simclr run --help')
${TEMPORAL_USAGE}`;

const RESUMABLE = new Set(['FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT']);

/** The input the latest run of `id` was started with (the first event of its history). */
export async function previousInput(
  session: TemporalSession,
  id: string,
  runId: string,
): Promise<ExperimentInput> {
  const { client, target } = session;
  const res = await client.workflowService.getWorkflowExecutionHistory({
    namespace: target.namespace,
    execution: { workflowId: id, runId },
    maximumPageSize: 1,
  });
  const payload = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload)
    throw new CliError(
      `cannot read the input of the previous run of '${id}' (run ${runId}) from its history`,
    );
  const input = defaultPayloadConverter.fromPayload<ExperimentInput>(payload as Payload);
  if (!input?.config || input.experimentId !== id)
    throw new CliError(`the previous run of '${id}' (run ${runId}) was not started with an experiment input`);
  return input;
}

export async function run(argv: string[], out: Output): Promise<number> {
  const { values, positionals: pos } = parseCommand(
    argv,
    { ...COMMON_OPTIONS, ...TEMPORAL_OPTIONS, detach: { type: 'boolean' }, embedded: { type: 'boolean' } },
    usage,
  );
  const [id] = positionals(pos, ['id'], usage);
  const embedded = values.embedded ?? false;
  const session = await sessionFor(values, embedded, out);
  try {
    const d = await describeExperiment(session.client, id);
    if (d.status.name === 'RUNNING') {
      const stage = d.typedSearchAttributes.get(SA_STAGE);
      throw new CliError(
        `experiment '${id}' is still running${stage ? ` (stage ${stage})` : ''}: nothing to resume; ` +
          `watch it with 'simclr watch ${id}' or stop it with 'simclr cancel ${id}'`,
      );
    }
    if (d.status.name === 'COMPLETED')
      throw new CliError(`experiment '${id}' completed: nothing to resume (see 'simclr report ${id}')`);
    if (!RESUMABLE.has(d.status.name))
      throw new CliError(`experiment '${id}' is ${d.status.name.toLowerCase()}: it cannot be resumed`);
    const prev = await previousInput(session, id, d.runId);
    out.note(`resuming experiment ${id} (previous run ${d.runId} ${d.status.name.toLowerCase()})`);
    return await launch({
      session,
      // The previous run's store: its checkpoints are there, whatever this shell's SIMCLR_STORE says.
      input: {
        experimentId: id,
        config: prev.config,
        resume: true,
        ...(prev.store ? { store: prev.store } : {}),
        // A scheduled run keeps its lineage: its report says where it came from and it is still promoted.
        ...(prev.retrain ? { retrain: prev.retrain } : {}),
      },
      embedded,
      detach: values.detach ?? false,
      out,
    });
  } finally {
    await session.close();
  }
}
