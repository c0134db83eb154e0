/**
 * The one place that takes credentials out of text before it is printed, logged, thrown or recorded
 * (activity failures go into the workflow history, which keeps them for good). Two kinds of secret:
 *   - the user part of a URI: `s3://key:secret@bucket`, `http://user:pass@host` → `s3://<redacted>@bucket`
 *     (everything between `scheme://` and the last '@' of the word, since secrets may hold '/');
 *   - the values of the credential variables of this process (SIMCLR_S3_SECRET_KEY, TEMPORAL_API_KEY,
 *     ...), wherever a library echoes one.
 *
 * @example
 *   throw new Error(`cannot open store ${redact(uri)}`);
 *   throw redactError(err); // message, stack and causes of an error from a library
 */

/** The environment variables whose values are secrets. */
export const SECRET_ENV_VARS = [
  'SIMCLR_S3_ACCESS_KEY',
  'SIMCLR_S3_SECRET_KEY',
  'TEMPORAL_API_KEY',
  'MINIO_ROOT_USER',
  'MINIO_ROOT_PASSWORD',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
] as const;

export const REDACTED = '<redacted>';

/** `scheme://` then a word up to its last '@': the user part of a URI, well-formed or not. */
const URI_USERINFO = /\b([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^\s'"`<>()[\]{},]*@/g;

/** Shorter values are not redacted as literals: they would match ordinary words. */
const MIN_SECRET_LENGTH = 4;

/** `text` with URI credentials and the values of SECRET_ENV_VARS replaced by `<redacted>`. */
export function redact(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = text.replace(URI_USERINFO, `$1${REDACTED}@`);
  const secrets = SECRET_ENV_VARS.map((name) => env[name])
    .filter((v): v is string => typeof v === 'string' && v.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length); // a secret that contains another goes first
  for (const secret of secrets) out = out.split(secret).join(REDACTED);
  return out;
}

/** Whether `uri` carries credentials (a user part), which belong in the environment instead. */
export function hasUriCredentials(uri: string): boolean {
  return new RegExp(URI_USERINFO.source).test(uri);
}

/**
 * Redacts an error in place, with its stack and its chain of causes (an ApplicationFailure's too),
 * and returns it: the same object, so its class and fields still say what failed.
 */
export function redactError<T>(err: T, env: NodeJS.ProcessEnv = process.env): T {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    try {
      e.message = redact(e.message, env);
      if (typeof e.stack === 'string') e.stack = redact(e.stack, env);
    } catch {
      // a frozen error: nothing to do but leave it
    }
  }
  return err;
}
