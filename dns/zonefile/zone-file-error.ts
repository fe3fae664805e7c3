/**
 * @module The error every zone-file fault raises: what went wrong, and where (file, 1-based line,
 * 0-based column), so an operator can go straight to it.
 */

export type ZoneFileErrorCode =
  | "syntax" // unbalanced parentheses, unterminated quotes, a bad escape
  | "bad-owner"
  | "bad-ttl"
  | "bad-class"
  | "bad-type"
  | "bad-rdata"
  | "no-ttl" // no TTL given and none to inherit (RFC 2308 §4)
  | "no-owner" // a record starting with blank space before any owner was named
  | "directive" // an unknown or malformed $ directive, or $INCLUDE when it is off
  | "include-depth";

export class ZoneFileError extends Error {
  override readonly name = "ZoneFileError";
  constructor(
    readonly code: ZoneFileErrorCode,
    readonly detail: string,
    readonly line: number,
    readonly column: number,
    readonly file?: string,
  ) {
    super(`${file ?? "zone"}:${line}:${column}: ${detail}`);
  }
}
