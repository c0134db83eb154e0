/**
 * The Temporal contracts (contracts/): proxies typed per queue (a wrong-queue call does not compile),
 * workers that register exactly their queue's activities, and the non-retryable error types derived
 * from the error classes, which activities map by class.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { ApplicationFailure } from '@temporalio/common';
import * as activities from '../../activities';
import { cpuActivities } from '../../activities/cpu';
import { gpuActivities } from '../../activities/gpu';
import { guard } from '../../activities/context';
import {
  CheckpointMismatchError,
  ConfigError,
  CorruptObjectError,
  CorruptShardError,
  DatasetError,
  DivergedError,
  InvalidKeyError,
  ModelNotFoundError,
  NON_RETRYABLE_ERROR_CLASSES,
  NON_RETRYABLE_ERRORS,
} from '../../contracts';
import { ConfigError as ConfigErrorOfConfig } from '../../config/errors';
import { DatasetError as DatasetErrorOfSource } from '../../simclr/datasets/source';
import { CheckpointMismatchError as MismatchOfCheckpoint } from '../../simclr/checkpoint';
import { DivergedError as DivergedOfTrain } from '../../simclr/train';
import { InvalidKeyError as InvalidKeyOfStore } from '../../storage/blob-store';

const root = join(__dirname, '..', '..');
const typesFile = join(root, 'test', 'types', 'activity-proxies.types.ts');

/** Type-checks `file` with the project's compiler options; `text` replaces its contents when given. */
function typeErrors(file: string, text?: string): ts.Diagnostic[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) =>
        assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    },
  );
  assert.ok(config);
  const options = { ...config.options, noEmit: true };
  const host = ts.createCompilerHost(options);
  if (text !== undefined) {
    const original = host.getSourceFile.bind(host);
    host.getSourceFile = (name, language, ...rest) =>
      name === file ? ts.createSourceFile(name, text, language) : original(name, language, ...rest);
  }
  return [...ts.getPreEmitDiagnostics(ts.createProgram([file], options, host))];
}

const describeDiagnostic = (d: ts.Diagnostic) =>
  `${d.file ? `line ${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ` : ''}TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;

describe('activity proxies typed per queue', () => {
  const source = readFileSync(typesFile, 'utf8');
  const expected = source.split('\n').filter((l) => l.trim().startsWith('// @ts-expect-error')).length;

  it('every wrong-queue call in test/types is a type error (no @ts-expect-error unused)', () => {
    assert.ok(expected >= 5, `only ${expected} @ts-expect-error lines`);
    const errors = typeErrors(typesFile);
    assert.deepEqual(errors.map(describeDiagnostic), []);
  });

  it('without the directives, each of those calls fails to compile (the check can fail)', () => {
    const stripped = source.replace(/^\s*\/\/ @ts-expect-error.*\n/gm, '');
    const errors = typeErrors(typesFile, stripped).map(describeDiagnostic);
    assert.equal(errors.length, expected, errors.join('\n'));
    assert.ok(
      errors.some((e) => /TS2339 Property 'pretrainEpoch' does not exist/.test(e)),
      errors.join('\n'),
    );
  });
});

describe('worker activity sets', () => {
  it('cpu and gpu sets are disjoint and together are every activity', () => {
    const cpu = Object.keys(cpuActivities);
    const gpu = Object.keys(gpuActivities);
    assert.deepEqual(
      cpu.filter((n) => gpu.includes(n)),
      [],
    );
    const all = Object.entries(activities)
      .filter(([, v]) => typeof v === 'function')
      .map(([k]) => k)
      .sort();
    assert.deepEqual([...cpu, ...gpu].sort(), all);
    assert.deepEqual(gpu.sort(), [
      'embedShard',
      'evaluateRepresentation',
      'fineTune',
      'pretrainEpoch',
      'supervisedBaseline',
    ]);
  });
});

describe('non-retryable errors', () => {
  const samples = [
    new ConfigError('exp.yaml', 'bad'),
    new DatasetError("dataset.source: '/x' is a file"),
    new CheckpointMismatchError('experiments/e/checkpoints/step-1', ['model.depth']),
    new DivergedError('loss NaN'),
    new InvalidKeyError('../x', "'..' segments are not allowed"),
    new CorruptShardError('datasets/d/train/shard-00000.bin', 'checksum mismatch'),
    new CorruptObjectError('datasets/d/MANIFEST.json', 'file:///store', 'not valid JSON'),
    new ModelNotFoundError("model 'x': no run of that id has a checkpoint"),
  ];

  it('the list is derived from the classes, and each instance is named by its type', () => {
    assert.deepEqual(
      NON_RETRYABLE_ERRORS,
      NON_RETRYABLE_ERROR_CLASSES.map((c) => c.type),
    );
    assert.equal(samples.length, NON_RETRYABLE_ERROR_CLASSES.length);
    for (const [i, err] of samples.entries()) {
      assert.ok(err instanceof NON_RETRYABLE_ERROR_CLASSES[i]);
      assert.equal(err.name, NON_RETRYABLE_ERROR_CLASSES[i].type);
      // An error that escapes guard() reaches Temporal with its constructor's name as its type.
      assert.equal(NON_RETRYABLE_ERROR_CLASSES[i].name, NON_RETRYABLE_ERROR_CLASSES[i].type);
    }
    assert.deepEqual(NON_RETRYABLE_ERRORS.slice(0, 4), [
      'ConfigError',
      'DatasetError',
      'CheckpointMismatchError',
      'DivergedError',
    ]);
  });

  it('the modules the classes used to live in re-export the same classes', () => {
    assert.equal(ConfigErrorOfConfig, ConfigError);
    assert.equal(DatasetErrorOfSource, DatasetError);
    assert.equal(MismatchOfCheckpoint, CheckpointMismatchError);
    assert.equal(DivergedOfTrain, DivergedError);
    assert.equal(InvalidKeyOfStore, InvalidKeyError);
  });

  it('guard turns each class into a non-retryable failure of its type, keeping the message', async () => {
    for (const err of samples) {
      await assert.rejects(
        guard(() => Promise.reject(err)),
        (f: unknown) =>
          f instanceof ApplicationFailure &&
          f.nonRetryable &&
          f.type === err.name &&
          f.message === err.message,
      );
    }
  });

  it('guard matches by class: other errors, even with a look-alike name, stay retryable', async () => {
    const plain = new Error('connection reset');
    await assert.rejects(
      guard(() => Promise.reject(plain)),
      (f) => f === plain,
    );
    const lookAlike = Object.assign(new Error('not ours'), { name: 'Something' });
    await assert.rejects(
      guard(() => Promise.reject(lookAlike)),
      (f) => f === lookAlike,
    );
  });
});
