/**
 * storage/layout.ts: the keys are exactly the ones stores already hold (no migration), bad ids are
 * typed InvalidKeyErrors that name them, and no other module spells a store prefix itself.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { InvalidKeyError, NON_RETRYABLE_ERRORS } from '../../contracts/errors';
import {
  augmentEpochPrefix,
  augmentShardKey,
  checkpointsPrefix,
  datasetPrefix,
  experimentKey,
  reportKeys,
  representationKeys,
  shardKey,
  shardStatsKey,
  STORE_ROOTS,
  sweepKeys,
} from '../../storage/layout';

const root = join(__dirname, '..', '..');

describe('store layout', () => {
  it('builds the same keys as before the layout existed', () => {
    assert.equal(datasetPrefix('d1'), 'datasets/d1');
    assert.equal(shardKey('d1', 'train', 3), 'datasets/d1/train/shard-00003.bin');
    assert.equal(shardStatsKey('d1', 'test', 12), 'datasets/d1/test/shard-00012.json');
    assert.equal(augmentEpochPrefix('d1', 'a9', 2), 'augment/d1/a9/epoch-00002/');
    assert.equal(augmentShardKey('d1', 'a9', 2, 7), 'augment/d1/a9/epoch-00002/shard-00007.bin');
    assert.equal(checkpointsPrefix('e1'), 'experiments/e1/checkpoints');
    assert.equal(experimentKey('e1', 'charts', 'loss.png'), 'experiments/e1/charts/loss.png');
    assert.deepEqual(reportKeys('e1'), {
      metricsChunks: 'experiments/e1/metrics/',
      metricsJsonl: 'experiments/e1/metrics.jsonl',
      reportJson: 'experiments/e1/report.json',
      reportHtml: 'experiments/e1/report.html',
      charts: 'experiments/e1/charts/',
      tensorboard: 'experiments/e1/tensorboard/',
    });
    const representation = representationKeys('e1');
    assert.equal(representation.sample('pretrained'), 'experiments/e1/representation/pretrained.json');
    assert.equal(representation.map('random-init'), 'experiments/e1/representation/random-init-map.json');
    const sweep = sweepKeys('s1');
    assert.equal(sweep.reportJson, 'sweeps/s1/report.json');
    assert.equal(sweep.chart('top1'), 'sweeps/s1/charts/top1.png');
  });

  it('refuses an id that is not one key segment with a non-retryable InvalidKeyError naming it', () => {
    assert.ok(NON_RETRYABLE_ERRORS.includes(InvalidKeyError.type));
    const cases: [() => unknown, RegExp][] = [
      [() => experimentKey('a/b', 'x'), /experiment id 'a\/b'/],
      [() => datasetPrefix(''), /dataset id ''/],
      [() => shardKey('..', 'train', 0), /'\.\.'/],
      [() => augmentShardKey('d1', '../x', 0, 0), /'\.\.'/],
      [() => sweepKeys('s/1'), /sweep id 's\/1'/],
      [() => representationKeys('e1').sample('../x'), /encoder '\.\.\/x'/],
    ];
    for (const [build, message] of cases) {
      assert.throws(build, (err: unknown) => err instanceof InvalidKeyError && message.test(err.message));
    }
  });

  it('no module outside storage/layout.ts spells a store prefix in a key', () => {
    const prefix = new RegExp(`[\`'"](${STORE_ROOTS.join('|')})/`);
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith('.ts')) {
          readFileSync(path, 'utf8')
            .split('\n')
            .forEach((line, i) => {
              const code = line.trim();
              if (code.startsWith('*') || code.startsWith('//') || code.startsWith('/*')) return;
              if (prefix.test(code)) offenders.push(`${relative(root, path)}:${i + 1}: ${code}`);
            });
        }
      }
    };
    for (const dir of [
      'activities',
      'report',
      'cli',
      'workflows',
      'workers',
      'simclr',
      'storage',
      'contracts',
    ])
      walk(join(root, dir));
    assert.deepEqual(
      offenders.filter((o) => !o.startsWith('storage/layout.ts')),
      [],
    );
  });
});
