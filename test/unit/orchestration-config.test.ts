/**
 * The experiment's optional `orchestration` section: heartbeat timeouts of the activity proxies. Absent,
 * the config is exactly what it was before the section existed (no default object is added), so ids,
 * fingerprints and recorded histories do not change and the proxies keep their timeouts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseExperiment } from '../../config/load';
import {
  DEFAULT_HEARTBEAT_TIMEOUT_SECONDS,
  DEFAULT_PRETRAIN_HEARTBEAT_TIMEOUT_SECONDS,
} from '../../workflows/activity-proxies';

const base = { name: 'o', dataset: { source: '/data' } };

test('without an orchestration section the config has none, and the defaults are the former constants', () => {
  const config = parseExperiment(base, 'o.yaml');
  assert.equal(config.orchestration, undefined);
  assert.equal('orchestration' in config, false);
  assert.equal(DEFAULT_PRETRAIN_HEARTBEAT_TIMEOUT_SECONDS, 60);
  assert.equal(DEFAULT_HEARTBEAT_TIMEOUT_SECONDS, 120);
});

test('heartbeat timeouts are read in seconds', () => {
  const config = parseExperiment(
    { ...base, orchestration: { pretrainHeartbeatTimeoutSeconds: 15, heartbeatTimeoutSeconds: 20 } },
    'o.yaml',
  );
  assert.deepEqual(config.orchestration, {
    pretrainHeartbeatTimeoutSeconds: 15,
    heartbeatTimeoutSeconds: 20,
  });
});

test('a timeout under 5 s, a string or an unknown key is refused, naming the field', () => {
  const issuesOf = (orchestration: unknown): string[] => {
    try {
      parseExperiment({ ...base, orchestration }, 'o.yaml');
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return err.issues.map((i) => `${i.path}: ${i.message}`);
    }
    return assert.fail('accepted');
  };
  assert.match(
    issuesOf({ pretrainHeartbeatTimeoutSeconds: 2 }).join('\n'),
    /^orchestration\.pretrainHeartbeatTimeoutSeconds: .*5/,
  );
  assert.match(
    issuesOf({ heartbeatTimeoutSeconds: '2 minutes' }).join('\n'),
    /^orchestration\.heartbeatTimeoutSeconds: /,
  );
  assert.match(issuesOf({ heartbeatTimeout: 30 }).join('\n'), /heartbeatTimeout/);
});
