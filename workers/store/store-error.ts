/**
 * @module Typed failures of the store, each with the HTTP status the APIs answer with. Messages say what is
 * wrong in words an operator can act on; they never include a secret.
 */

export type StoreErrorCode =
  | "not-found" // no such zone, version or key
  | "lease" // the caller does not hold the zone's refresh lease
  | "state" // the version is not open (already committed or abandoned)
  | "bad-records" // a record stream that does not parse or leaves the zone
  | "no-soa" // a full transfer without exactly one SOA at the apex
  | "serial-mismatch" // the zone's SOA serial is not the one announced
  | "inconsistent" // a changeset that does not apply (RFC 1995 §4: fall back to AXFR)
  | "conflict" // the zone changed underneath (another commit won)
  | "too-large" // an owner or a statement beyond D1's limits
  | "bad-nodes"; // an IXFR's changed nodes (issue 28) that do not fit its changesets

const STATUS: Record<StoreErrorCode, 400 | 404 | 409 | 413> = {
  "not-found": 404,
  lease: 409,
  state: 409,
  "bad-records": 400,
  "no-soa": 400,
  "serial-mismatch": 409,
  inconsistent: 409,
  conflict: 409,
  "too-large": 413,
  "bad-nodes": 400,
};

export class StoreError extends Error {
  override readonly name = "StoreError";
  readonly status: 400 | 404 | 409 | 413;
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
    this.status = STATUS[code];
  }
}
