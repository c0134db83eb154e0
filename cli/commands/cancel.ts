/**
 * `simclr cancel <id>`: requests cancellation of a running experiment. Pretraining stops at a step
 * boundary and writes a final checkpoint, so `simclr resume <id>` continues from there.
 */
import { TEMPORAL_USAGE } from '../args';
import { withExperiment } from '../connect';
import { CliError, EXIT_OK, type Output } from '../output';
import { describeExperiment } from '../snapshot';

export const usage = `usage: simclr cancel <id> [--json]

${TEMPORAL_USAGE}`;

export async function run(argv: string[], out: Output): Promise<number> {
  return withExperiment(argv, usage, {}, async (session, id) => {
    const d = await describeExperiment(session.client, id);
    if (d.status.name !== 'RUNNING')
      throw new CliError(
        `experiment '${id}' is not running (it is ${d.status.name.toLowerCase()}): nothing to cancel`,
      );
    await session.client.workflow.getHandle(id, d.runId).cancel();
    out.document({ experimentId: id, runId: d.runId, cancellationRequested: true });
    out.line(`cancellation requested for experiment ${id}`);
    out.line('  pretraining stops at the next step boundary and writes a final checkpoint');
    out.line(`  follow it: simclr watch ${id}    continue it later: simclr resume ${id}`);
    return EXIT_OK;
  });
}
