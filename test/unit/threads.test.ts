/**
 * The native TensorFlow thread configuration (simclr/kernels/threads.ts): defaults from the cores,
 * the user's SIMCLR_THREADS and TF_NUM_*_THREADS respected, bad values refused, and the variables
 * written for libtensorflow to read. Pure functions of an env object: no backend is loaded here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  configureThreads,
  describeThreads,
  resolveThreads,
  ThreadConfigError,
} from '../../simclr/kernels/threads';
import { describeBackend } from '../../simclr/backend';

test('defaults: intra-op and OpenMP threads = the cores, inter-op 1', () => {
  assert.deepEqual(resolveThreads({}, 2), { intraOp: 2, interOp: 1, openMp: 2, source: 'default', cores: 2 });
  assert.deepEqual(resolveThreads({}, 16), {
    intraOp: 16,
    interOp: 1,
    openMp: 16,
    source: 'default',
    cores: 16,
  });
});

test('SIMCLR_THREADS sets the intra-op and OpenMP threads; inter-op stays 1', () => {
  assert.deepEqual(resolveThreads({ SIMCLR_THREADS: '3' }, 8), {
    intraOp: 3,
    interOp: 1,
    openMp: 3,
    source: 'SIMCLR_THREADS',
    cores: 8,
  });
});

test("the user's TensorFlow variables win, each on its own, over SIMCLR_THREADS and the defaults", () => {
  assert.deepEqual(resolveThreads({ TF_NUM_INTEROP_THREADS: '2' }, 4), {
    intraOp: 4,
    interOp: 2,
    openMp: 4,
    source: 'env',
    cores: 4,
  });
  assert.deepEqual(resolveThreads({ SIMCLR_THREADS: '3', TF_NUM_INTRAOP_THREADS: '5' }, 8), {
    intraOp: 5,
    interOp: 1,
    openMp: 3,
    source: 'env',
    cores: 8,
  });
  assert.deepEqual(resolveThreads({ OMP_NUM_THREADS: '1' }, 2), {
    intraOp: 2,
    interOp: 1,
    openMp: 1,
    source: 'env',
    cores: 2,
  });
  // An empty variable is unset, as a shell's `VAR= cmd` means.
  assert.equal(resolveThreads({ TF_NUM_INTRAOP_THREADS: '' }, 2).source, 'default');
});

test('a value that is not a whole number ≥ 1 is refused, naming the variable', () => {
  for (const [name, value] of [
    ['SIMCLR_THREADS', '0'],
    ['SIMCLR_THREADS', 'two'],
    ['TF_NUM_INTRAOP_THREADS', '1.5'],
    ['OMP_NUM_THREADS', '-1'],
  ] as const) {
    assert.throws(
      () => resolveThreads({ [name]: value }, 2),
      (err: Error) =>
        err instanceof ThreadConfigError && err.message.includes(name) && err.message.includes(value),
    );
  }
});

test('configureThreads writes all three variables and keeps what the user set', () => {
  const env: NodeJS.ProcessEnv = { TF_NUM_INTEROP_THREADS: '2', PATH: '/bin' };
  const config = configureThreads(env, 6);
  assert.deepEqual(
    { intra: env.TF_NUM_INTRAOP_THREADS, inter: env.TF_NUM_INTEROP_THREADS, omp: env.OMP_NUM_THREADS },
    { intra: '6', inter: '2', omp: '6' },
  );
  assert.equal(env.PATH, '/bin');
  assert.equal(config.source, 'env');
  // A second call (a second initBackend) reads back the same counts.
  const again = configureThreads(env, 6);
  assert.deepEqual([again.intraOp, again.interOp, again.openMp], [6, 2, 6]);
});

test('the backend log line says which threads run and why', () => {
  const threads = resolveThreads({}, 2);
  assert.equal(describeThreads(threads), 'threads: intra-op 2, inter-op 1, OpenMP 2 (default: 2 cores)');
  assert.equal(
    describeThreads(resolveThreads({ SIMCLR_THREADS: '1' }, 2)),
    'threads: intra-op 1, inter-op 1, OpenMP 1 (SIMCLR_THREADS)',
  );
  const line = describeBackend({ requested: 'auto', name: 'tensorflow', provider: 'tfjs-node', threads });
  assert.match(
    line,
    /^backend: tensorflow via tfjs-node \[auto: native TensorFlow loaded\]; threads: intra-op 2,/,
  );
  // wasm and cpu have no native pools: no thread clause.
  assert.doesNotMatch(describeBackend({ requested: 'wasm', name: 'wasm', provider: 'wasm' }), /threads:/);
});
