/**
 * @module Test fixture for the store's tests against local D1: a zone row and one committed version holding
 * `records`, stored the way a small full transfer is (the lease, one chunk, the commit), so each test starts
 * from the same stored form the answer path, the apply and the version stream read.
 */
import { RRType } from "../../../dns/constants.ts";
import type { Name } from "../../../dns/name.ts";
import type { D1Queryable } from "../../db/d1-queryable.ts";
import { appendChunk, beginIngest, commitIngest } from "../full-ingest.ts";
import type { CommitOptions, ZoneRef } from "../full-ingest.ts";
import { acquireLease } from "../lease.ts";
import { encodeRecordStream } from "../record-stream.ts";
import type { OwnedRecord } from "../record-stream.ts";
import { Budget } from "../statement-budget.ts";

export interface StoredZoneOptions {
  /** The lease owner that stores the version (and may go on changing the zone). */
  owner: string;
  /** The commit's options (e.g. the serial it expects). */
  commit?: CommitOptions;
}

/** Inserts the zone `apex` and commits `records` as its first version; the lease stays with `owner`. */
export async function storedZone(db: D1Queryable, apex: Name, records: readonly OwnedRecord[], options: StoredZoneOptions): Promise<ZoneRef> {
  const row = await db
    .prepare("INSERT INTO zones (name, webhook_secret_hash) VALUES (?1, 'x') RETURNING id")
    .bind(apex.toString().slice(0, -1))
    .first<{ id: number }>();
  if (!row) throw new Error(`could not insert the zone ${apex.toString()}`);
  const zone = { id: row.id, name: apex };
  const budget = new Budget(db);
  if (!(await acquireLease(budget, zone.id, options.owner, 600_000))) throw new Error(`no lease on the new zone ${apex.toString()}`);
  const version = await beginIngest(budget, zone, options.owner);
  await appendChunk(budget, zone, version, 0, encodeRecordStream(records), options.owner);
  await commitIngest(budget, zone, version, options.owner, options.commit);
  return zone;
}

/**
 * An RRSIG by `signer` over `covered` at `name`, expiring `days` from now (fractions allowed, so each owner's can
 * differ) and incepted an hour ago; algorithm 13, key tag 4242, a filler signature. For the tests of the
 * earliest-expiring signature a zone keeps.
 */
export function signatureOver(name: Name, signer: Name, covered: number, days: number): OwnedRecord {
  const signerWire = signer.toWire();
  const rdata = new Uint8Array(18 + signerWire.length + 8);
  const view = new DataView(rdata.buffer);
  view.setUint16(0, covered);
  rdata[2] = 13;
  rdata[3] = name.labelCount;
  view.setUint32(4, 300);
  const now = Math.floor(Date.now() / 1000);
  view.setUint32(8, now + Math.round(days * 86_400));
  view.setUint32(12, now - 3600);
  view.setUint16(16, 4242);
  rdata.set(signerWire, 18);
  rdata.fill(7, 18 + signerWire.length);
  return { name, type: RRType.RRSIG, class: 1, ttl: 300, rdata };
}
