/**
 * @module The journal read back: the changesets that lead from serial S to the served version (RFC 1995
 * §4), for IXFR out. Null when the history does not reach S (never recorded, pruned, or interrupted by a
 * full transfer): the caller then answers with a full zone, as RFC 1995 §2 allows.
 */
import { concatBytes } from "../../dns/bytes.ts";
import { toBase64 } from "../../dns/rdata/base64.ts";
import type { Journal } from "../../contract/internal-v1.ts";
import { textToBytes } from "./blob-text.ts";
import type { D1Queryable } from "../db/d1-queryable.ts";

interface Row {
  version: number;
  seq: number;
  part: number;
  from_serial: number;
  to_serial: number;
  deletions: ArrayBuffer;
  additions: ArrayBuffer;
}


export async function readJournal(db: D1Queryable, zoneId: number, since: number): Promise<Journal | null> {
  const zone = await db.prepare("SELECT current_version, serial FROM zones WHERE id = ?1").bind(zoneId).first<{
    current_version: number | null;
    serial: number | null;
  }>();
  if (!zone || zone.current_version === null || zone.serial === null) return null;
  if (zone.serial === since) return { fromSerial: since, toSerial: since, changesets: [] };
  // The latest place where the chain left serial S.
  const start = await db
    .prepare(
      `SELECT version, seq FROM changesets WHERE zone_id = ?1 AND from_serial = ?2 AND part = 0 AND version <= ?3
       ORDER BY version DESC, seq DESC LIMIT 1`,
    )
    .bind(zoneId, since, zone.current_version)
    .first<{ version: number; seq: number }>();
  if (!start) return null;
  // A full transfer after that point breaks the chain.
  const axfr = await db
    .prepare("SELECT 1 AS x FROM zone_versions WHERE zone_id = ?1 AND state = 'committed' AND kind = 'axfr' AND version > ?2 AND version <= ?3")
    .bind(zoneId, start.version, zone.current_version)
    .first();
  if (axfr) return null;
  const rows = await db
    .prepare(
      `SELECT c.version, c.seq, c.part, c.from_serial, c.to_serial, c.deletions, c.additions
       FROM changesets c JOIN zone_versions v ON v.zone_id = c.zone_id AND v.version = c.version AND v.state = 'committed'
       WHERE c.zone_id = ?1 AND (c.version > ?2 OR (c.version = ?2 AND c.seq >= ?3)) AND c.version <= ?4
       ORDER BY c.version, c.seq, c.part`,
    )
    .bind(zoneId, start.version, start.seq, zone.current_version)
    .all<Row>();
  const changesets: Journal["changesets"] = [];
  let current: { key: string; from: number; to: number; dels: Uint8Array[]; adds: Uint8Array[] } | undefined;
  const flush = () => {
    if (!current) return;
    changesets.push({
      fromSerial: current.from,
      toSerial: current.to,
      deletions: toBase64(concatBytes(current.dels)),
      additions: toBase64(concatBytes(current.adds)),
    });
  };
  for (const r of rows.results) {
    const key = `${r.version}:${r.seq}`;
    if (!current || current.key !== key) {
      flush();
      current = { key, from: r.from_serial, to: r.to_serial, dels: [], adds: [] };
    }
    current.dels.push(textToBytes(r.deletions));
    current.adds.push(textToBytes(r.additions));
  }
  flush();
  // The chain must be unbroken from S to the served serial.
  let serial = since;
  for (const cs of changesets) {
    if (cs.fromSerial !== serial) return null;
    serial = cs.toSerial;
  }
  if (serial !== zone.serial) return null;
  return { fromSerial: since, toSerial: serial, changesets };
}
