/**
 * @module Canonical record order (RFC 4034 §6.1–6.3, as RFC 8976 §3.3.1 uses it for ZONEMD): by owner
 * name in canonical name order, then by type number, then by rdata in canonical form compared as
 * left-justified octet strings. Because an RRSIG's rdata starts with the type it covers, signatures sort
 * grouped by covered type within the RRSIG type.
 */
import { WireError } from "../../wire/reader.ts";
import { compareBytes } from "../../bytes.ts";
import type { ZoneRecord } from "../../zonefile/parser.ts";
import { canonicalRdata } from "../../rdata/embedded-names.ts";
import { ZoneError } from "./zone-error.ts";


/** Canonical rdata, with a typed error for rdata that does not follow its type's layout. */
export function canonicalFormOf(type: number, rdata: Uint8Array): Uint8Array {
  try {
    return canonicalRdata(type, rdata);
  } catch (err) {
    if (err instanceof WireError) throw new ZoneError("bad-rdata", `type ${type} rdata: ${err.message}`);
    throw err;
  }
}

export function compareRecords(a: ZoneRecord, b: ZoneRecord): number {
  return (
    a.name.compare(b.name) ||
    a.type - b.type ||
    compareBytes(canonicalFormOf(a.type, a.rdata), canonicalFormOf(b.type, b.rdata))
  );
}

/** A sorted copy. */
export function sortRecords(records: Iterable<ZoneRecord>): ZoneRecord[] {
  return [...records].sort(compareRecords);
}
