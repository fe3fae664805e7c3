/**
 * @module The CLI's exit codes (issue 24) and the one error type that carries one. Whatever goes wrong ends
 * as a `CliError`: its message is printed (the API's own words when the API answered), never a stack trace.
 */

/** 0 ok, 1 a check failed (or the API refused the request), 2 a usage error, 3 the server could not be reached. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

/** A usage error: a bad argument the CLI itself found. */
export const usage = (message: string): CliError => new CliError(EXIT.usage, message);

/**
 * The exit code for an API error status: the API says the request itself was malformed (400, 413, 415) →
 * usage; anything else it refused or failed (401, 403, 404, 409, 5xx) → failed.
 */
export function exitForStatus(status: number): ExitCode {
  return status === 400 || status === 413 || status === 415 ? EXIT.usage : EXIT.failed;
}
