/**
 * The thread pools of native TensorFlow, chosen in one place for every process that trains: the
 * workers, the embedded CLI and the benchmarks. libtensorflow reads TF_NUM_INTRAOP_THREADS,
 * TF_NUM_INTEROP_THREADS and OMP_NUM_THREADS once, when @tensorflow/tfjs-node loads, so
 * `configureThreads` must run before that (simclr/backend.ts calls it just before loading the native
 * package; setting them later changes nothing).
 *
 * Defaults, when the user set nothing:
 * - intra-op (the pool one op's work is split over): every core this process may use
 *   (`os.availableParallelism()`), as for the isolated step of `npm run bench -- train`;
 * - inter-op 1: eager TF.js runs one op at a time, so a second pool only adds threads that compete
 *   with the intra-op pool and with the event loop;
 * - OMP_NUM_THREADS: the intra-op count (oneDNN builds that use OpenMP size their pool from it).
 *
 * The user decides with `SIMCLR_THREADS=N` (intra-op and OpenMP threads; inter-op stays 1), or with
 * the TensorFlow variables themselves, which win over both.
 *
 * @example
 *   const threads = configureThreads(); // before require('@tensorflow/tfjs-node')
 *   log(describeThreads(threads));      // "threads: intra-op 2, inter-op 1, OpenMP 2 (default: 2 cores)"
 */
import { availableParallelism } from 'node:os';

/** The environment variables libtensorflow reads for its pools. */
export const TF_THREAD_VARIABLES = [
  'TF_NUM_INTRAOP_THREADS',
  'TF_NUM_INTEROP_THREADS',
  'OMP_NUM_THREADS',
] as const;

/** The thread counts a native TensorFlow backend runs with, and where they came from. */
export interface ThreadConfig {
  intraOp: number;
  interOp: number;
  openMp: number;
  /** `default` (the cores), `SIMCLR_THREADS`, or `env` when a TensorFlow variable was set by the user. */
  source: 'default' | 'SIMCLR_THREADS' | 'env';
  /** Cores available to this process when the choice was made. */
  cores: number;
}

/** A bad SIMCLR_THREADS / TF_NUM_*_THREADS value: a configuration error, not worth retrying. */
export class ThreadConfigError extends Error {
  override readonly name = 'ThreadConfigError';
}

function positiveInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new ThreadConfigError(`${name} must be a whole number of threads ≥ 1, got '${raw}'`);
  return n;
}

/**
 * The thread counts for `env` on a machine with `cores` cores, without changing anything: each
 * TensorFlow variable the user set is kept; SIMCLR_THREADS sets the intra-op and OpenMP counts; the
 * rest default to `cores` intra-op, 1 inter-op and OpenMP = intra-op.
 */
export function resolveThreads(env: NodeJS.ProcessEnv, cores: number): ThreadConfig {
  const simclr = positiveInt(env, 'SIMCLR_THREADS');
  const intra = positiveInt(env, 'TF_NUM_INTRAOP_THREADS');
  const inter = positiveInt(env, 'TF_NUM_INTEROP_THREADS');
  const omp = positiveInt(env, 'OMP_NUM_THREADS');
  const intraOp = intra ?? simclr ?? cores;
  return {
    intraOp,
    interOp: inter ?? 1,
    openMp: omp ?? simclr ?? intraOp,
    source:
      intra !== undefined || inter !== undefined || omp !== undefined
        ? 'env'
        : simclr !== undefined
          ? 'SIMCLR_THREADS'
          : 'default',
    cores,
  };
}

/**
 * Resolves the thread counts and writes them into `env` (process.env by default) for libtensorflow to
 * read when it loads. Idempotent: a second call finds the variables set and keeps them.
 */
export function configureThreads(
  env: NodeJS.ProcessEnv = process.env,
  cores: number = availableParallelism(),
): ThreadConfig {
  const config = resolveThreads(env, cores);
  env.TF_NUM_INTRAOP_THREADS = String(config.intraOp);
  env.TF_NUM_INTEROP_THREADS = String(config.interOp);
  env.OMP_NUM_THREADS = String(config.openMp);
  return config;
}

/** The log line: `threads: intra-op 2, inter-op 1, OpenMP 2 (default: 2 cores)`. */
export function describeThreads(t: ThreadConfig): string {
  const why =
    t.source === 'default'
      ? `default: ${t.cores} core${t.cores === 1 ? '' : 's'}`
      : t.source === 'SIMCLR_THREADS'
        ? 'SIMCLR_THREADS'
        : 'set by TF_NUM_*_THREADS / OMP_NUM_THREADS';
  return `threads: intra-op ${t.intraOp}, inter-op ${t.interOp}, OpenMP ${t.openMp} (${why})`;
}
