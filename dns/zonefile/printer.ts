/**
 * @module Master-file printer: one record per line, `owner TTL class type rdata`, absolute names (or
 * owners relative to a `$ORIGIN`), that
 * BIND and Knot load unchanged. Rdata uses the type's own format only when it round-trips to the same
 * bytes, and RFC 3597's `TYPEnnn \# len hex` for every type without a codec here (so a peer that does not
 * know a mnemonic still loads the line). Records come out in the order given: pass them in canonical
 * order (a `Zone` iterates that way) for a canonical file.
 */
import { classToString, RRType, typeToString } from "../constants.ts";
import { genericToText } from "../rdata/generic.ts";
import { hasCodec, rdataToText } from "../rdata/index.ts";
import { Name } from "../name.ts";
import type { ZoneRecord } from "./parser.ts";

/**
 * Obsolete types that Knot 3.2 refuses by mnemonic ("unsupported record type") but loads in RFC 3597
 * form; BIND loads either. Printed generically so one file loads in both.
 */
const GENERIC_IN_FILES = new Set<number>([RRType.SIG, RRType.PX, RRType.NXT]);

export interface PrintOptions {
  /**
   * Write owner names relative to this origin (`@` for the origin itself) after a `$ORIGIN` line. Names
   * outside it, and every name inside rdata, stay absolute.
   */
  origin?: Name;
}

/** The owner column: absolute, or relative to `origin` without the trailing dot. */
function ownerText(name: Name, origin: Name | undefined): string {
  if (origin === undefined) return name.toString();
  const labels = name.relativeTo(origin);
  if (labels === undefined) return name.toString();
  if (labels.length === 0) return "@";
  return Name.fromLabels(labels).toString().slice(0, -1);
}

/** One record as a master-file line (no newline), owner absolute. One parameter, so `.map(recordToText)` works. */
export function recordToText(record: ZoneRecord): string {
  return formatRecord(record, {});
}

/** One record as a master-file line (no newline), with the owner written as `options` asks. */
export function formatRecord(record: ZoneRecord, options: PrintOptions): string {
  const generic = !hasCodec(record.type) || GENERIC_IN_FILES.has(record.type);
  const type = generic ? `TYPE${record.type}` : typeToString(record.type);
  const rdata = generic ? genericToText(record.rdata) : rdataToText(record.type, record.rdata);
  return `${ownerText(record.name, options.origin)} ${record.ttl} ${classToString(record.class)} ${type} ${rdata}`;
}

/** Lines of a master file (each ending in a newline), streamed. */
export function* printZone(records: Iterable<ZoneRecord>, options: PrintOptions = {}): Generator<string> {
  if (options.origin !== undefined) yield `$ORIGIN ${options.origin.toString()}\n`;
  for (const record of records) yield formatRecord(record, options) + "\n";
}
