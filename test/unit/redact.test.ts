/** The redaction of credentials from text and errors (storage/redact.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasUriCredentials, redact, redactError } from '../../storage/redact';

test('the user part of a URI is redacted, well-formed or not, secrets with "/" included', () => {
  assert.equal(
    redact("invalid store URI 's3://key:s3cr3t@bucket'"),
    "invalid store URI 's3://<redacted>@bucket'",
  );
  assert.equal(redact('http://user:pa/ss@host:9000/x'), 'http://<redacted>@host:9000/x');
  assert.equal(
    redact('s3://AKIA:wJal/K7MD+bPx@bucket/prefix and more'),
    's3://<redacted>@bucket/prefix and more',
  );
  assert.equal(
    redact('s3://bucket/prefix, http://127.0.0.1:9000'),
    's3://bucket/prefix, http://127.0.0.1:9000',
  );
  assert.ok(hasUriCredentials('s3://key:secret@bucket'));
  assert.ok(!hasUriCredentials('s3://bucket/prefix'));
  assert.ok(!hasUriCredentials('/data/images@2x'));
});

test("the values of this process's credential variables are redacted wherever they appear", () => {
  const env = { SIMCLR_S3_SECRET_KEY: 'Zq9-secret-Zq9', SIMCLR_S3_ACCESS_KEY: 'ab', TEMPORAL_API_KEY: '' };
  assert.equal(
    redact('got <SecretKey>Zq9-secret-Zq9</SecretKey>', env),
    'got <SecretKey><redacted></SecretKey>',
  );
  assert.equal(redact('a short key ab stays', env), 'a short key ab stays');
});

test('an error is redacted in place: message, stack and causes', () => {
  const cause = new Error('from s3://k:topsecret@b');
  const err = new TypeError('cannot open s3://k:topsecret@b', { cause });
  assert.equal(redactError(err), err);
  assert.ok(err instanceof TypeError);
  for (const text of [err.message, err.stack, cause.message, cause.stack])
    assert.ok(!String(text).includes('topsecret'), String(text));
});
