/**
 * @module RRsets as operators write them (issue 22), read into the store's form: an owner relative to the
 * zone, absolute with a trailing dot, or `@` for the apex; a type by its mnemonic or `TYPEnnn`; rdata in
 * presentation format, parsed by the project's own codecs (`dns/rdata/`), so every type Backstop can
 * transfer can be written. Every fault is an `EditRefused` naming where it is (`owner`, `records.1`).
 */
import { RRClass, RRType, typeFromString, typeToString } from "../../../dns/constants.ts";
import { Name, NameError } from "../../../dns/name.ts";
import { RdataError, rdataFromText } from "../../../dns/rdata/index.ts";
import type { StoredRecord } from "../../../answer/store/stored-node.ts";
import { EditRefused } from "./zone-edit.ts";

/** `@`, a name relative to `apex`, or an absolute name (trailing dot); it must lie in the zone. */
export function ownerName(text: string, apex: Name, field = "owner"): Name {
  let name: Name;
  try {
    name = text === "@" ? apex : Name.parse(text, apex);
  } catch (err) {
    if (err instanceof NameError) throw new EditRefused(`${field}: ${text} is not a domain name (${err.message})`, field);
    throw err;
  }
  if (!name.isSubdomainOf(apex)) throw new EditRefused(`${field}: ${name} is not in the zone ${apex}`, field);
  return name;
}

/** A record type an edit may write: not a meta type, and not the SOA (the serial policy owns it). */
export function editableType(text: string, field = "type"): number {
  const type = typeFromString(text);
  if (type === undefined) throw new EditRefused(`${field}: ${text} is not a record type (like A, AAAA, MX or TYPE65)`, field);
  if (type === RRType.SOA) {
    throw new EditRefused(`${field}: the apex SOA is Backstop's: its serial follows the zone's serialPolicy (its other fields change by importing a zone file)`, field);
  }
  if (type >= 128 && type <= 255) throw new EditRefused(`${field}: ${typeToString(type)} is a meta type, not a record type`, field);
  return type;
}

/** Presentation-format rdata, each parsed with names relative to the apex; `field` is the list's name. */
export function parseRecords(type: number, ttl: number, texts: readonly string[], apex: Name, field = "records"): StoredRecord[] {
  return texts.map((text, i) => {
    try {
      return { type, class: RRClass.IN, ttl, rdata: rdataFromText(type, text, apex) };
    } catch (err) {
      if (err instanceof RdataError || err instanceof NameError) {
        throw new EditRefused(`${field}.${i}: ${err.message.replace(/^[a-z ]+: (?=")/, "")}`, `${field}.${i}`);
      }
      throw err;
    }
  });
}
