/**
 * @module IXFR changesets (RFC 1995 §4): the records deleted and added to go from one serial to the next,
 * applied to a zone only when they fit it exactly.
 *
 * Applying, in order:
 * 1. the zone's serial must equal the changeset's from-serial, and the to-serial must come after it
 *    (RFC 1982, through dns/serial.ts: nothing else compares serials);
 * 2. every deletion must name a record the zone holds, and none twice;
 * 3. every addition must be absent once the deletions are done, and none twice;
 * 4. only then is the zone changed (deletions, then additions), so a changeset that does not fit
 *    leaves the zone untouched: the caller falls back to AXFR;
 * 5. afterwards the zone's serial must be the to-serial (the old SOA is among the deletions and the
 *    new one among the additions, RFC 1995 §4).
 */
import { RRType } from "../../constants.ts";
import { Serial } from "../../serial.ts";
import type { ZoneRecord } from "../../zonefile/parser.ts";
import { canonicalFormOf, compareRecords } from "./canonical-order.ts";
import type { Zone } from "./zone.ts";
import { ZoneError } from "./zone-error.ts";
import { recordToText } from "../../zonefile/printer.ts";

export interface Changeset {
  fromSerial: number;
  toSerial: number;
  deletions: ZoneRecord[];
  additions: ZoneRecord[];
}

/** Identity of a record for matching: owner (case-insensitive), type and canonical rdata; not the TTL. */
function identity(r: ZoneRecord): string {
  const rdata = canonicalFormOf(r.type, r.rdata);
  let key = `${r.name.key}|${r.type}|`;
  for (let i = 0; i < rdata.length; i += 0x2000) key += String.fromCharCode(...rdata.subarray(i, i + 0x2000));
  return key;
}

/**
 * Applies `changeset` to `zone`, or throws `ZoneError` and leaves the zone as it was.
 */
export function applyChangeset(zone: Zone, changeset: Changeset): void {
  const current = Serial.of(zone.serial());
  if (!current.equals(changeset.fromSerial)) {
    throw new ZoneError("serial-mismatch", `changeset starts at serial ${changeset.fromSerial}, zone is at ${current.value}`);
  }
  if (!Serial.of(changeset.toSerial).isNewerThan(changeset.fromSerial)) {
    throw new ZoneError("not-newer", `changeset goes from ${changeset.fromSerial} to ${changeset.toSerial}, which is not forwards`);
  }

  const deleted = new Set<string>();
  for (const r of changeset.deletions) {
    const id = identity(r);
    if (deleted.has(id)) throw new ZoneError("duplicate-record", `changeset deletes twice: ${recordToText(r)}`);
    if (!zone.has(r)) throw new ZoneError("missing-record", `changeset deletes a record the zone does not hold: ${recordToText(r)}`);
    deleted.add(id);
  }
  const added = new Set<string>();
  for (const r of changeset.additions) {
    const id = identity(r);
    if (added.has(id)) throw new ZoneError("duplicate-record", `changeset adds twice: ${recordToText(r)}`);
    if (zone.has(r) && !deleted.has(id)) throw new ZoneError("duplicate-record", `changeset adds a record the zone holds: ${recordToText(r)}`);
    added.add(id);
  }
  // Additions are checked against the zone's origin and class before anything changes.
  for (const r of changeset.additions) {
    if (!r.name.isSubdomainOf(zone.origin)) throw new ZoneError("out-of-zone", `${r.name} is not in zone ${zone.origin}`);
    if (r.class !== zone.rrclass) throw new ZoneError("wrong-class", `${recordToText(r)} is not of the zone's class`);
    if (r.type === RRType.RRSIG && r.rdata.length < 2) throw new ZoneError("bad-rdata", `RRSIG at ${r.name} is too short`);
  }

  for (const r of changeset.deletions) zone.delete(r);
  for (const r of changeset.additions) zone.add(r);

  const after = zone.serial();
  if (!Serial.of(after).equals(changeset.toSerial)) {
    // The SOA swap was missing from the changeset; the records are applied, so say so loudly.
    throw new ZoneError("serial-mismatch", `after the changeset the zone's serial is ${after}, not ${changeset.toSerial}`);
  }
}

/**
 * The changeset that turns `from` into `to` (both in canonical order, so one merge pass): records only in
 * `from` are deleted, records only in `to` are added; a record whose TTL changed is deleted and re-added.
 */
export function diffZones(from: Zone, to: Zone): Changeset {
  const deletions: ZoneRecord[] = [];
  const additions: ZoneRecord[] = [];
  const a = from.records();
  const b = to.records();
  let x = a.next();
  let y = b.next();
  while (!x.done || !y.done) {
    const c = x.done ? 1 : y.done ? -1 : compareRecords(x.value, y.value);
    if (c < 0) {
      deletions.push(x.value as ZoneRecord);
      x = a.next();
    } else if (c > 0) {
      additions.push(y.value as ZoneRecord);
      y = b.next();
    } else {
      if (x.value!.ttl !== y.value!.ttl) {
        deletions.push(x.value!);
        additions.push(y.value!);
      }
      x = a.next();
      y = b.next();
    }
  }
  // RFC 1995 §4 sends each side's SOA first; keep that shape here.
  const soaFirst = (list: ZoneRecord[]) => [...list.filter((r) => r.type === RRType.SOA), ...list.filter((r) => r.type !== RRType.SOA)];
  return { fromSerial: from.serial(), toSerial: to.serial(), deletions: soaFirst(deletions), additions: soaFirst(additions) };
}
