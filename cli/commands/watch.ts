/**
 * `simclr watch <id>`: the live view of a run started elsewhere (another terminal, a schedule, CI),
 * to its end; Ctrl-C stops watching, not the run.
 */
import { COMMON_OPTIONS, parseCommand, positionals, TEMPORAL_OPTIONS, TEMPORAL_USAGE } from '../args';
import { connectTemporal, resolveTarget } from '../connect';
import { followToEnd } from '../follow';
import type { Output } from '../output';
import { describeExperiment } from '../snapshot';

export const usage = `usage: simclr watch <id> [--json]

${TEMPORAL_USAGE}`;

export async function run(argv: string[], out: Output): Promise<number> {
  const { values, positionals: pos } = parseCommand(argv, { ...COMMON_OPTIONS, ...TEMPORAL_OPTIONS }, usage);
  const [id] = positionals(pos, ['id'], usage);
  const session = await connectTemporal(resolveTarget(values));
  try {
    await describeExperiment(session.client, id);
    return await followToEnd(session.client, session.target, id, out);
  } finally {
    await session.close();
  }
}
