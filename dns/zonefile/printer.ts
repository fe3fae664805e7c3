/**
 * @module Master-file printer: one record per line, `owner TTL class type rdata`, absolute names, that
 * BIND and Knot load unchanged. Rdata uses the type's own format only when it round-trips to the same
 * bytes, and RFC 3597's `TYPEnnn \# len hex` for every type without a codec here (so a peer that does not
 * know a mnemonic still loads the line). Records come out in the order given: pass them in canonical
 * order (a `Zone` iterates that way) for a canonical file.
 */
import { classToString, RRType, typeToString } from "../constants.ts";
import { genericToText } from "../rdata/generic.ts";
import { hasCodec, rdataToText } from "../rdata/index.ts";
import type { ZoneRecord } from "./parser.ts";

/**
 * Obsolete types that Knot 3.2 refuses by mnemonic ("unsupported record type") but loads in RFC 3597
 * form; BIND loads either. Printed generically so one file loads in both.
 */
const GENERIC_IN_FILES = new Set<number>([RRType.SIG, RRType.PX, RRType.NXT]);

export function recordToText(record: ZoneRecord): string {
  const generic = !hasCodec(record.type) || GENERIC_IN_FILES.has(record.type);
  const type = generic ? `TYPE${record.type}` : typeToString(record.type);
  const rdata = generic ? genericToText(record.rdata) : rdataToText(record.type, record.rdata);
  return `${record.name.toString()} ${record.ttl} ${classToString(record.class)} ${type} ${rdata}`;
}

/** Lines of a master file (each ending in a newline), streamed. */
export function* printZone(records: Iterable<ZoneRecord>): Generator<string> {
  for (const record of records) yield recordToText(record) + "\n";
}
