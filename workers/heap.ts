/**
 * The V8 heap growth of a process that trains (`simclr worker --queue gpu|all`, `simclr run --embedded`,
 * `sweep --embedded`).
 *
 * Why: after each full (Mark-Compact) collection V8 sets the next old-generation limit to the live heap
 * times a factor it derives from how fast the collector runs against how fast JavaScript allocates. A
 * training step spends its time in native TensorFlow and allocates little JavaScript, so the factor
 * drops to its minimum, 1.1 (`--trace-gc-verbose`: "factor 1.1 based on mu=0.970, speed_ratio=1084").
 * A worker process holds about 100 MB of live heap (the Temporal SDK, the workflow bundle, TensorFlow.js),
 * and with that little headroom incremental marking restarts right after every collection: an embedded
 * run made about one full collection per step (about 130 in a 138-step pretrain stage), where `bench train`,
 * whose last full collection happens at start-up with factor 4, makes none while it trains. Fixing the
 * factor at 2 (`--heap-growing-percent=100`) leaves 2 full collections in the same stage and raised
 * its median step from about 1,400 to about 1,700 views/s (README "In-pipeline speed"). The price is
 * at most one more live heap's worth of memory (about 100 MB), small beside the training tensors.
 *
 * V8 reads the flag at every collection, so setting it at run time (node:v8 setFlagsFromString) takes
 * effect for the rest of the process; Node does not accept it in NODE_OPTIONS, so this is the one way a
 * command can apply it to itself without a re-exec.
 */
import { setFlagsFromString } from 'node:v8';

/** Old-generation growth after a full collection, in percent: the limit is (1 + p/100) × live. */
export const TRAINING_HEAP_GROWING_PERCENT = 100;

/**
 * The V8 flag a training process sets, or undefined when node's own command line (`node
 * --heap-growing-percent=N bin/simclr …`) already chose one: the user's choice wins.
 */
export function trainingHeapFlag(execArgv: readonly string[]): string | undefined {
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a))) return undefined;
  return `--heap-growing-percent=${TRAINING_HEAP_GROWING_PERCENT}`;
}

/**
 * Applies trainingHeapFlag to this process (see the module comment); returns what it set, for the
 * worker's start-up log, or undefined when the command line had set it already.
 */
export function tuneHeapForTraining(execArgv: readonly string[] = process.execArgv): string | undefined {
  const flag = trainingHeapFlag(execArgv);
  if (flag) setFlagsFromString(flag);
  return flag;
}
