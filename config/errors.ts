/**
 * The one error type for a bad experiment config (a wrong value, an unknown key, a YAML syntax error, a
 * missing file, a combination that cannot work). It lives with the other non-retryable error classes in
 * contracts/errors.ts, whose list the Temporal retry policies are derived from; re-exported here for
 * the config modules.
 */
export { CONFIG_ERROR, ConfigError, formatConfigIssues, type ConfigIssue } from '../contracts/errors';
