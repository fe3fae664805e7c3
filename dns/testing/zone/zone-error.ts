/** @module The typed error of the zone model: a record that does not belong, or a changeset that does not apply. */

export type ZoneErrorCode =
  | "out-of-zone" // owner not at or below the origin
  | "wrong-class"
  | "bad-rdata" // rdata that does not follow its type's layout
  | "no-soa" // the zone has no SOA at its apex, so no serial
  | "serial-mismatch" // a changeset's from-serial is not the zone's serial
  | "not-newer" // a changeset's to-serial is not after its from-serial (RFC 1982)
  | "missing-record" // a changeset deletes a record the zone does not hold
  | "duplicate-record"; // a changeset adds a record the zone already holds, or lists one twice

export class ZoneError extends Error {
  override readonly name = "ZoneError";
  constructor(
    readonly code: ZoneErrorCode,
    message: string,
  ) {
    super(message);
  }
}
