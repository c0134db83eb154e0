/**
 * `simclr worker --queue cpu|gpu|all`: serves a resource class until stopped. cpu runs the workflows and
 * the data activities (shard, augment, report); gpu runs training and evaluation, one at a time. The
 * first SIGINT/SIGTERM drains (no new tasks; running activities finish or checkpoint), a second forces.
 */
import type { QueueClass } from '../../workers/run-workers';
import { COMMON_OPTIONS, parseCommand, positionals, TEMPORAL_OPTIONS, TEMPORAL_USAGE } from '../args';
import { connectTemporal, resolveTarget } from '../connect';
import { CliError, EXIT_OK, EXIT_USAGE, type Output } from '../output';
import { healthPortFrom, startHealthServer, type HealthServer } from '../../workers/health';
import { installWorkerRuntime, onInterrupt } from '../worker-runtime';

export const usage = `usage: simclr worker --queue cpu|gpu|all [--address HOST:PORT] [--namespace NAME] [--json]

  --queue cpu|gpu|all   which task queues to serve: simclr-cpu, simclr-gpu, or both (embedded use)
${TEMPORAL_USAGE}

Env: SIMCLR_HEALTH_PORT  serve GET /healthz (liveness) and /readyz (readiness) on this port
     SIMCLR_WORKFLOW_BUNDLE  run the workflows from this prebuilt bundle (infra/build-workflow-bundle.ts)`;

const QUEUES: Record<string, QueueClass[]> = { cpu: ['cpu'], gpu: ['gpu'], all: ['cpu', 'gpu'] };

export async function run(argv: string[], out: Output): Promise<number> {
  const { values, positionals: pos } = parseCommand(
    argv,
    { ...COMMON_OPTIONS, ...TEMPORAL_OPTIONS, queue: { type: 'string' } },
    usage,
  );
  positionals(pos, [], usage);
  if (!values.queue) throw new CliError(`missing --queue cpu|gpu|all\n\n${usage}`, EXIT_USAGE);
  const queues = QUEUES[values.queue];
  if (!queues) throw new CliError(`--queue must be cpu, gpu or all, got '${values.queue}'`, EXIT_USAGE);

  let healthPort: number | undefined;
  try {
    healthPort = healthPortFrom();
  } catch (err) {
    throw new CliError((err as Error).message, EXIT_USAGE);
  }
  const target = resolveTarget(values);
  // Check the server first, for the same clear message as every other verb.
  await (await connectTemporal(target)).close();

  installWorkerRuntime();
  const { startWorkers } = require('../../workers/run-workers') as typeof import('../../workers/run-workers');
  const workers = await startWorkers({ queues, target, log: (l) => out.note(l) });
  let health: HealthServer | undefined;
  if (healthPort !== undefined) {
    try {
      health = await startHealthServer(healthPort, () => workers.states());
    } catch (err) {
      await workers.shutdown();
      throw new CliError((err as Error).message);
    }
    out.note(`worker: health on :${health.port} (GET /healthz, /readyz)`);
  }
  out.note(
    `worker: connected to ${target.address}, namespace '${target.namespace}'; Ctrl-C drains, a second Ctrl-C forces`,
  );
  let stoppedBy: string | undefined;
  const removeHandlers = onInterrupt((signal) => {
    stoppedBy = signal;
    out.note(`${signal}: draining (running activities finish or checkpoint); send it again to exit at once`);
    void workers.shutdown();
  }, out.note.bind(out));
  try {
    await workers.done;
  } finally {
    removeHandlers();
    await health?.close();
  }
  out.note('worker: stopped');
  out.document({
    worker: 'stopped',
    queues,
    address: target.address,
    namespace: target.namespace,
    signal: stoppedBy ?? null,
  });
  return EXIT_OK;
}
