/**
 * @module The one error type of the rdata codecs: malformed wire rdata or presentation text that does not
 * parse. `column` is the 0-based column of the offending token when the text came from a zone file line.
 */

export type RdataErrorCode =
  | "bad-wire" // rdata bytes that do not decode as the type says
  | "bad-text" // a presentation token that does not parse
  | "missing-field" // the text ended before every field was given
  | "extra-field" // tokens left over after the last field
  | "too-long"; // a value larger than its wire field can hold

export class RdataError extends Error {
  override readonly name = "RdataError";
  constructor(
    readonly code: RdataErrorCode,
    message: string,
    /** 0-based column of the token at fault, when known. */
    readonly column?: number,
    /** 1-based line of the token at fault, when known. */
    readonly line?: number,
  ) {
    super(message);
  }
}
