/**
 * @module What the zone page reads beyond the zone row and its log: the last IXFR's difference, from the
 * journal (`changesets`, RFC 1995 §4, the same rows IXFR out serves), and the apex NS check, from the
 * served version, against this deployment's nameservers (`BACKSTOP_NAMESERVERS`).
 */
import { RRType } from "../../dns/constants.ts";
import { Name } from "../../dns/name.ts";
import { rdataToText } from "../../dns/rdata/index.ts";
import { recordToText } from "../../dns/zonefile/printer.ts";
import { parseRecordStream } from "../../contract/record-stream.ts";
import type { D1Queryable } from "../db/d1-queryable.ts";
import type { ZoneRow } from "../db/queries/zones.ts";
import { textToBytes } from "../store/blob-text.ts";
import { D1ZoneStore } from "../store/d1-zone-store.ts";

/** At most this many records of each side are shown; the counts are always whole. */
export const DIFF_SHOWN = 200;

export interface LastDifference {
  version: number;
  fromSerial: number;
  toSerial: number;
  at: number;
  added: string[];
  removed: string[];
  addedCount: number;
  removedCount: number;
}

interface ChangesetRow {
  version: number;
  seq: number;
  from_serial: number;
  to_serial: number;
  deletions: ArrayBuffer;
  additions: ArrayBuffer;
  created_at: number;
}

/**
 * The changesets of the newest journaled version at or before the served one, as text (SOA records
 * included, as an IXFR carries them). Null when the zone has no journal (AXFR only so far).
 */
export async function lastDifference(db: D1Queryable, zone: Pick<ZoneRow, "id" | "name" | "currentVersion">): Promise<LastDifference | null> {
  if (zone.currentVersion === null) return null;
  const rows = await db
    .prepare(
      `SELECT version, seq, from_serial, to_serial, deletions, additions, created_at FROM changesets
       WHERE zone_id = ?1 AND version = (SELECT max(version) FROM changesets WHERE zone_id = ?1 AND version <= ?2)
       ORDER BY seq, part`,
    )
    .bind(zone.id, zone.currentVersion)
    .all<ChangesetRow>();
  const list = rows.results;
  if (list.length === 0) return null;
  const apex = Name.parseAbsolute(zone.name);
  // Parts of one changeset are concatenated before parsing: a record may straddle two parts.
  const bySeq = new Map<number, { dels: Uint8Array[]; adds: Uint8Array[] }>();
  for (const r of list) {
    const entry = bySeq.get(r.seq) ?? { dels: [], adds: [] };
    entry.dels.push(textToBytes(r.deletions));
    entry.adds.push(textToBytes(r.additions));
    bySeq.set(r.seq, entry);
  }
  const added: string[] = [];
  const removed: string[] = [];
  let addedCount = 0;
  let removedCount = 0;
  const join = (parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) out.set(p, (at += p.length) - p.length);
    return out;
  };
  for (const { dels, adds } of bySeq.values()) {
    for (const rr of parseRecordStream(join(dels), apex)) {
      removedCount++;
      if (removed.length < DIFF_SHOWN) removed.push(recordToText(rr));
    }
    for (const rr of parseRecordStream(join(adds), apex)) {
      addedCount++;
      if (added.length < DIFF_SHOWN) added.push(recordToText(rr));
    }
  }
  const first = list[0]!;
  const last = list.at(-1)!;
  return { version: first.version, fromSerial: first.from_serial, toSerial: last.to_serial, at: first.created_at, added, removed, addedCount, removedCount };
}

export interface NsCheck {
  /** The apex NS set as served, lowercase names without the trailing dot; null before the first transfer. */
  published: string[] | null;
  ours: readonly string[];
  /** ok: as the model wants; problem: not; unknown: no data or no BACKSTOP_NAMESERVERS. */
  verdict: "ok" | "problem" | "unknown";
  words: string;
}

/** A live zone's NS set must include every one of ours; a dark (hidden) zone's must include none. */
export async function apexNsCheck(db: D1Queryable, zone: ZoneRow, ours: readonly string[]): Promise<NsCheck> {
  if (zone.currentVersion === null) return { published: null, ours, verdict: "unknown", words: "No data yet: the check runs after the first transfer." };
  const store = new D1ZoneStore(db);
  const apex = Name.parseAbsolute(zone.name);
  const info = { id: zone.id, name: apex, model: zone.model, version: zone.currentVersion, serial: zone.serial, expiresAt: zone.expiresAt, answerAllow: [] };
  const node = await store.node(info, apex);
  const published = (node?.records ?? [])
    .filter((r) => r.type === RRType.NS)
    .map((r) => rdataToText(RRType.NS, r.rdata).toLowerCase().replace(/\.$/, ""))
    .sort();
  if (ours.length === 0) {
    return { published, ours, verdict: "unknown", words: "Cannot check: BACKSTOP_NAMESERVERS is not set, so this deployment's nameservers are unknown." };
  }
  const included = ours.filter((n) => published.includes(n));
  const missing = ours.filter((n) => !published.includes(n));
  if (zone.model === "secondary") {
    return missing.length === 0
      ? { published, ours, verdict: "ok", words: `The zone's NS set includes all of this deployment's nameservers (${ours.join(", ")}), as a live zone must.` }
      : { published, ours, verdict: "problem", words: `A live zone's NS set must include this deployment's nameservers; it lacks ${missing.join(", ")}. Add them to the NS set at the primary (and at the registrar).` };
  }
  if (zone.model === "hidden") {
    return included.length === 0
      ? { published, ours, verdict: "ok", words: "The zone's NS set names none of this deployment's nameservers, as a dark (hidden) zone must." }
      : { published, ours, verdict: "problem", words: `A dark zone's NS set must not name this deployment's nameservers, but it names ${included.join(", ")}. Remove them, or promote the zone to live.` };
  }
  return { published, ours, verdict: "unknown", words: "The NS check applies to live and dark zones." };
}
