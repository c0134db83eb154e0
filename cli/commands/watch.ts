/**
 * `simclr watch <id>`: the live view of a run started elsewhere (another terminal, a schedule, CI),
 * to its end; Ctrl-C stops watching, not the run.
 */
import { TEMPORAL_USAGE } from '../args';
import { withExperiment } from '../connect';
import { followToEnd } from '../follow';
import type { Output } from '../output';
import { describeExperiment } from '../snapshot';

export const usage = `usage: simclr watch <id> [--json]

${TEMPORAL_USAGE}`;

export async function run(argv: string[], out: Output): Promise<number> {
  return withExperiment(argv, usage, {}, async (session, id) => {
    await describeExperiment(session.client, id);
    return await followToEnd(session.client, session.target, id, out);
  });
}
