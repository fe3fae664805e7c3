/**
 * @module Typed TSIG failures. Each says which part failed, and its `message` is the sentence an operator
 * reads in the zone's transfer status, so it names the key, the algorithm and the numbers involved, and
 * never the secret.
 *
 * `tsigError` is the code a server answers with for this failure (RFC 8945 §5.2: BADKEY, BADSIG, BADTIME,
 * BADTRUNC), or FORMERR for a message that cannot be processed at all (§5.2, §5.2.2.1).
 */
import { Rcode } from "../constants.ts";

export type TsigErrorCode =
  /** The TSIG record is unreadable, misplaced or repeated, or its fields contradict RFC 8945 §4.2. */
  | "malformed"
  /** A key that cannot be used: an unknown algorithm name, a secret that is not base64, a bad key name. */
  | "invalid-key"
  /** The key name is not one we hold (for a response: not the key we signed with). */
  | "unknown-key"
  /** The key name is known, but with another algorithm. */
  | "algorithm-mismatch"
  /** An algorithm this side cannot compute (e.g. hmac-md5 with Web Crypto only). */
  | "unsupported-algorithm"
  /** The MAC does not verify: the secrets differ, or the message was altered. */
  | "bad-mac"
  /** The MAC is longer than the hash, shorter than RFC 8945 §5.2.2.1 allows, or shorter than local policy. */
  | "bad-truncation"
  /** Time Signed is outside our clock ± fudge. */
  | "clock-skew"
  /** A message that had to be signed carries no TSIG record. */
  | "unsigned"
  /** More than 99 unsigned messages in a row in a TCP stream (RFC 8945 §5.3.1). */
  | "too-many-unsigned"
  /** The stream ended on an unsigned message (RFC 8945 §5.3.1: the last one must be signed). */
  | "unsigned-final"
  /** The peer answered with a TSIG error of its own (BADKEY, BADSIG, BADTIME, BADTRUNC…). */
  | "peer-error";

/** Names of the TSIG error codes (RFC 8945 §3 and the IANA registry), for messages. */
export function tsigErrorName(code: number): string {
  switch (code) {
    case 0:
      return "NOERROR";
    case Rcode.BADSIG:
      return "BADSIG";
    case Rcode.BADKEY:
      return "BADKEY";
    case Rcode.BADTIME:
      return "BADTIME";
    case Rcode.BADMODE:
      return "BADMODE";
    case Rcode.BADNAME:
      return "BADNAME";
    case Rcode.BADALG:
      return "BADALG";
    case Rcode.BADTRUNC:
      return "BADTRUNC";
    default:
      return `error ${code}`;
  }
}

export interface TsigErrorDetails {
  /** Key name as it appeared (or as we used it). */
  keyName?: string;
  /** Seconds by which Time Signed differs from our clock (positive: their time is ahead of ours). */
  skewSeconds?: number;
  /** The TSIG error field the peer sent, for `peer-error`. */
  peerError?: number;
  /** The header RCODE the peer sent, when it matters. */
  peerRcode?: number;
  /** 0-based index of the message in a TCP stream. */
  messageIndex?: number;
}

export class TsigError extends Error {
  override readonly name = "TsigError";
  /** What a server answers with for this failure: BADKEY, BADSIG, BADTIME, BADTRUNC, or FORMERR (1). */
  readonly tsigError: number;

  constructor(
    readonly code: TsigErrorCode,
    message: string,
    readonly details: TsigErrorDetails = {},
    /** Overrides the code's usual answer (a MAC size RFC 8945 §5.2.2.1 forbids outright is FORMERR). */
    answer?: number,
  ) {
    super(message);
    this.tsigError = answer ?? answerCode(code);
  }
}

function answerCode(code: TsigErrorCode): number {
  switch (code) {
    case "unknown-key":
    case "algorithm-mismatch":
    case "unsupported-algorithm":
      return Rcode.BADKEY;
    case "bad-mac":
      return Rcode.BADSIG;
    case "clock-skew":
      return Rcode.BADTIME;
    case "bad-truncation":
      return Rcode.BADTRUNC;
    default:
      return Rcode.FORMERR;
  }
}
