/**
 * @module Master-file printer: one record per line, `owner TTL class type rdata`, absolute names, that
 * BIND and Knot load unchanged. Rdata uses the type's own format only when it round-trips to the same
 * bytes, and RFC 3597's `TYPEnnn \# len hex` for every type without a codec here (so a peer that does not
 * know a mnemonic still loads the line). Records come out in the order given: pass them in canonical
 * order (a `Zone` iterates that way) for a canonical file.
 */
import { classToString, typeToString } from "../constants.ts";
import { hasCodec, rdataToText } from "../rdata/index.ts";
import type { ZoneRecord } from "./parser.ts";

export function recordToText(record: ZoneRecord): string {
  const type = hasCodec(record.type) ? typeToString(record.type) : `TYPE${record.type}`;
  return `${record.name.toString()} ${record.ttl} ${classToString(record.class)} ${type} ${rdataToText(record.type, record.rdata)}`;
}

/** Lines of a master file (each ending in a newline), streamed. */
export function* printZone(records: Iterable<ZoneRecord>): Generator<string> {
  for (const record of records) yield recordToText(record) + "\n";
}
