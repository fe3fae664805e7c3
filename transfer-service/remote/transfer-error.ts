/**
 * @module Why an exchange with a primary failed, as a closed set of causes, each with a sentence an
 * operator can act on. The refresh state machine decides on `code` (and `rcode`): every failure of an
 * IXFR falls back to AXFR; a failure of an SOA query or AXFR moves on to the next primary.
 */
import { rcodeToString } from "../../dns/constants.ts";
import type { TsigError } from "../../dns/tsig/errors.ts";

export type TransferErrorCode =
  /** The TCP connection could not be made (refused, unreachable) or the connect timed out. */
  | "connect"
  /** No answer to a UDP/TCP query within the time allowed. */
  | "timeout"
  /** Nothing arrived on a transfer for longer than the idle timeout. */
  | "idle-timeout"
  /** The transfer took longer than the total timeout. */
  | "total-timeout"
  /** The primary closed or reset the connection before the transfer was complete. */
  | "reset"
  /** The primary answered with an error RCODE (NOTIMP, REFUSED, SERVFAIL, NOTAUTH, FORMERR…). */
  | "rcode"
  /** A TSIG failure: ours (bad MAC, skew, unsigned reply) or the primary's (BADKEY, BADSIG, BADTIME). */
  | "tsig"
  /** A reply we cannot parse, or one that does not answer our question (ID, QR, opcode, question). */
  | "malformed"
  /** A reply without the SOA asked for, or not authoritative (AA clear). */
  | "no-soa"
  /** An AXFR that does not begin and end with the same SOA, or holds records outside the zone. */
  | "bad-axfr"
  /** An IXFR whose changesets do not chain from our serial to the primary's (RFC 1995 §4). */
  | "inconsistent-ixfr"
  /** The record or byte limit for one transfer was reached. */
  | "limit"
  /** Storing what was received failed (the ingest API refused it, or the Worker is unreachable). */
  | "sink"
  /** The service is shutting down. */
  | "aborted"
  /** The primary's address is one Backstop never sends to (`contract/outbound-address.ts`); nothing was sent. */
  | "forbidden-address";

export class TransferError extends Error {
  override readonly name = "TransferError";
  constructor(
    readonly code: TransferErrorCode,
    message: string,
    readonly details: { rcode?: number; tsig?: TsigError; cause?: unknown } = {},
  ) {
    super(message);
  }
}

/** "127.0.0.1:53" or "[::1]:53". */
export function describePeer(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The TransferError for an error RCODE from `peer`. */
export function rcodeError(peer: string, rcode: number, what: string): TransferError {
  return new TransferError("rcode", `${peer} answered ${rcodeToString(rcode)} to our ${what}`, { rcode });
}

/** Turns a socket error into a TransferError, keeping the system's own words (ECONNREFUSED…). */
export function socketError(peer: string, err: unknown, phase: "connect" | "transfer"): TransferError {
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ? `${e.code}: ` : "";
  if (phase === "connect") return new TransferError("connect", `cannot connect to ${peer} over TCP (${code}${e?.message ?? String(err)})`, { cause: err });
  return new TransferError("reset", `the connection to ${peer} failed mid-transfer (${code}${e?.message ?? String(err)})`, { cause: err });
}
