/**
 * @module The one way a primary zone changes (issue 22): the RRset API, the zone-file import and RFC 2136
 * UPDATE all describe their change as "these owner names now hold these records", computed against the
 * served version, and this module turns it into one IXFR changeset (old SOA → new SOA with the serial
 * policy's next serial) and applies it through `store/changeset-apply.ts`, the same path an IXFR from a
 * primary takes: one guarded commit, one serial step, one journal entry, so IXFR out and NOTIFY out follow.
 *
 * Concurrency: an edit holds the zone's lease (`store/lease.ts`, owner `edit:<uuid>`) from its first read
 * to its commit, so two edits of one zone (an API PUT and an UPDATE, say) run one after the other, each
 * reading what the other committed: one consistent result, two serial steps. Waiting for the lease is
 * bounded (`EDIT_WAIT_MS`); past it the edit is refused as busy (409). The commit itself is still guarded
 * on (lease, version, serial), and a `conflict` from it starts the edit over, a bounded number of times.
 * The planner runs again on each attempt, so it must only read through the `ZoneEdit` it is given.
 *
 * The zone rules (RFC 1034 §3.6.2 CNAME and other data, one SOA at the apex and only there, NS at the
 * apex) are checked on every node the edit leaves, and an edit that breaks one is refused with the label
 * its caller gave the change (`records.1`, `rrsets.2`, a file's line), before anything is written.
 */
import { RRType, typeToString } from "../../../dns/constants.ts";
import { Name } from "../../../dns/name.ts";
import { withSoaSerial } from "../../../dns/rdata/soa.ts";
import type { SerialPolicy } from "../../../contract/vocabulary.ts";
import type { Overlay } from "../overlay.ts";
import { readNode, readOverlay } from "../overlay-table.ts";
import { applyChangesets } from "../changeset-apply.ts";
import { abortIngest, appendChunk, beginIngest, commitIngest } from "../full-ingest.ts";
import { acquireLease, releaseLease } from "../lease.ts";
import { encodeRecordStream } from "../record-stream.ts";
import type { OwnedRecord } from "../record-stream.ts";
import { Budget } from "../statement-budget.ts";
import { StoreError } from "../store-error.ts";
import { compareRecords, normalizeRecords, TREE_MAIN } from "../../../answer/store/stored-node.ts";
import type { StoredRecord } from "../../../answer/store/stored-node.ts";
import { versionNodes } from "../version-stream.ts";
import type { D1Queryable } from "../../db/d1-queryable.ts";
import { firstSerial, nextSerial } from "./serial-policy.ts";

/** How long an edit waits for another edit of the same zone to finish before it is refused as busy. */
export const EDIT_WAIT_MS = 10_000;
/** The lease an edit holds: longer than any edit takes, short enough that a crashed edit frees the zone soon. */
const EDIT_LEASE_MS = 30_000;
/** Attempts of an edit whose guarded commit lost a race (it reads and plans again each time). */
const EDIT_ATTEMPTS = 5;

/** An edit refused by a zone rule or a bad input, with the label of the change that broke it. */
export class EditRefused extends Error {
  override readonly name = "EditRefused";
  constructor(
    message: string,
    /** Where in the caller's input (`records.1`, `rrsets.0.records.2`), when the caller gave one. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The primary zone an edit applies to. */
export interface EditZone {
  id: number;
  /** As `zones.name` holds it. */
  name: string;
  serialPolicy: SerialPolicy;
}

/** Types a primary zone does not take from an edit: Backstop does not sign zones (yet). */
const SIGNER_TYPES = new Set<number>([RRType.RRSIG, RRType.NSEC, RRType.NSEC3]);
/** Types that may share a name with a CNAME (RFC 4035 §2.5: the DNSSEC records of the CNAME's own name). */
const BESIDE_CNAME = new Set<number>([RRType.CNAME, RRType.RRSIG, RRType.NSEC]);

/**
 * The zone as an edit sees it: the served version's nodes, then the edit's own changes on top. Only the
 * main name tree (a primary zone here holds no NSEC3 chain).
 */
export class ZoneEdit {
  private readonly nodes = new Map<string, { name: Name; before: StoredRecord[]; after: StoredRecord[]; label: string | undefined }>();
  private soaRecord: StoredRecord | undefined;
  private overlay: Promise<Overlay> | undefined;

  constructor(
    private readonly budget: Budget,
    readonly zoneId: number,
    readonly apex: Name,
    /** The served version, null for a zone with no data yet. */
    readonly version: number | null,
    readonly serial: number | null,
  ) {}

  /** The records at `name` now (after this edit's earlier changes), in canonical order. */
  async records(name: Name): Promise<StoredRecord[]> {
    const held = this.nodes.get(name.key);
    if (held) return held.after.slice();
    const before = await this.read(name);
    this.nodes.set(name.key, { name, before, after: before.slice(), label: undefined });
    return before.slice();
  }

  /** Seeds what a name holds in the served version, for a caller that walked the version already (import). */
  seed(name: Name, records: StoredRecord[]): void {
    if (!this.nodes.has(name.key)) this.nodes.set(name.key, { name, before: records.slice(), after: records.slice(), label: undefined });
  }

  /** The names this edit has read or changed. */
  names(): Name[] {
    return [...this.nodes.values()].map((n) => n.name);
  }

  /** `name` holds exactly `records` after the edit (empty: nothing). `label` names the change in errors. */
  async set(name: Name, records: StoredRecord[], label?: string): Promise<void> {
    if (!this.nodes.has(name.key)) await this.records(name);
    const node = this.nodes.get(name.key)!;
    node.after = normalizeRecords(records.slice());
    if (label !== undefined) node.label = label;
  }

  /** The apex SOA now: the served one unless the edit gave a new one. Its serial is the policy's to set. */
  async soa(): Promise<StoredRecord | undefined> {
    if (this.soaRecord) return this.soaRecord;
    return (await this.records(this.apex)).find((r) => r.type === RRType.SOA);
  }

  /** A new SOA (mname, rname and timers; the serial is replaced by the policy's). */
  replaceSoa(record: StoredRecord): void {
    this.soaRecord = record;
  }

  private async read(name: Name): Promise<StoredRecord[]> {
    if (this.version === null) return [];
    // The served version's IXFR overlay (issue 28), read once per edit.
    this.overlay ??= readOverlay(this.budget, this.zoneId, this.version);
    const node = await readNode(this.budget, this.zoneId, this.version, TREE_MAIN, name.sortKey(), await this.overlay);
    return node ? node.records.slice() : [];
  }

  /** What the edit changes, name by name (unchanged names left out), with the SOA left to the caller. */
  changes(): { name: Name; before: StoredRecord[]; after: StoredRecord[]; label: string | undefined }[] {
    const out = [];
    for (const node of this.nodes.values()) {
      const before = node.before.filter((r) => r.type !== RRType.SOA);
      const after = node.after.filter((r) => r.type !== RRType.SOA);
      if (!sameRecords(before, after)) out.push({ name: node.name, before, after, label: node.label });
    }
    return out;
  }
}

function sameRecords(a: StoredRecord[], b: StoredRecord[]): boolean {
  if (a.length !== b.length) return false;
  const x = a.slice().sort(compareRecords), y = b.slice().sort(compareRecords);
  return x.every((r, i) => compareRecords(r, y[i]!) === 0 && r.ttl === y[i]!.ttl);
}

const where = (label: string | undefined) => (label ? `${label}: ` : "");

/** RFC 1034 §3.6.2, RFC 1035 §5.2 and the apex rules, on one node as the edit leaves it. */
export function checkNode(apex: Name, name: Name, records: readonly StoredRecord[], label?: string): void {
  if (!name.isSubdomainOf(apex)) throw new EditRefused(`${where(label)}${name} is not in the zone ${apex}`, label);
  const isApex = name.equals(apex);
  const types = new Set(records.map((r) => r.type));
  for (const t of types) {
    if (SIGNER_TYPES.has(t)) {
      throw new EditRefused(`${where(label)}${typeToString(t)} records are written by a DNSSEC signer, and Backstop does not sign zones`, label);
    }
    if (t === RRType.SOA && !isApex) throw new EditRefused(`${where(label)}an SOA record belongs at the apex ${apex} only`, label);
  }
  if (types.has(RRType.CNAME)) {
    const cnames = records.filter((r) => r.type === RRType.CNAME).length;
    if (cnames > 1) throw new EditRefused(`${where(label)}${name} would hold ${cnames} CNAME records; a CNAME RRset has one record`, label);
    const other = [...types].filter((t) => !BESIDE_CNAME.has(t));
    if (isApex || other.length > 0) {
      const what = isApex ? "the apex's SOA and NS" : other.map(typeToString).join(", ");
      throw new EditRefused(`${where(label)}${name} cannot hold a CNAME and other data (${what}), RFC 1034 §3.6.2`, label);
    }
  }
  if (isApex && !types.has(RRType.NS)) throw new EditRefused(`${where(label)}the apex ${apex} needs an NS RRset`, label);
}

/** One RRset's records take one TTL (RFC 2181 §5.2): the given type's records all get `ttl`. */
export function withTtl(records: StoredRecord[], type: number, ttl: number): StoredRecord[] {
  return records.map((r) => (r.type === type ? { ...r, ttl } : r));
}

export interface EditResult<T> {
  /** The planner's own answer (counts, an rcode). */
  result: T;
  /** The new version and serial, or null when the edit changed nothing (no commit, no serial step). */
  committed: { version: number; serial: number; recordCount: number } | null;
}

/** What a planner may return to stop the edit without a commit (an UPDATE prerequisite failing). */
export interface Abort<T> {
  abort: T;
}

async function takeLease(budget: Budget, zone: EditZone, owner: string, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  let pause = 5;
  for (;;) {
    if (await acquireLease(budget, zone.id, owner, EDIT_LEASE_MS)) return;
    if (Date.now() >= deadline) {
      throw new StoreError("conflict", `${zone.name} is being changed by another edit (waited ${waitMs} ms); try again`);
    }
    await new Promise((r) => setTimeout(r, pause + Math.random() * pause));
    pause = Math.min(pause * 2, 100);
  }
}

/**
 * Runs `plan` against the served version under the zone's lease and commits what it changed as one
 * changeset (one serial step), or as the zone's first version when it has none.
 */
export async function editZone<T>(
  db: D1Queryable,
  zone: EditZone,
  plan: (edit: ZoneEdit) => Promise<T | Abort<T>>,
  options: { now?: () => number; waitMs?: number; dryRun?: boolean } = {},
): Promise<EditResult<T>> {
  const budget = new Budget(db);
  const clock = options.now ?? Date.now;
  const apex = Name.parseAbsolute(zone.name);
  const owner = `edit:${crypto.randomUUID()}`;
  await takeLease(budget, zone, owner, options.waitMs ?? EDIT_WAIT_MS);
  try {
    for (let attempt = 1; ; attempt++) {
      const state = await budget
        .prepare("SELECT current_version, serial FROM zones WHERE id = ?1", [zone.id])
        .first<{ current_version: number | null; serial: number | null }>();
      if (!state) throw new StoreError("not-found", `no zone ${zone.name}`);
      const edit = new ZoneEdit(budget, zone.id, apex, state.current_version, state.serial);
      const planned = await plan(edit);
      if (isAbort(planned)) return { result: planned.abort, committed: null };
      const changes = edit.changes();
      for (const c of changes) checkNode(apex, c.name, c.after.concat((await edit.records(c.name)).filter((r) => r.type === RRType.SOA)), c.label);
      const soa = await edit.soa();
      if (!soa) throw new EditRefused(`${zone.name} has no SOA yet: create it with "soa" and "nameservers", or import a zone file with an SOA`);
      // A new SOA changes the zone only in its names, timers or TTL: its serial is the policy's.
      const servedSoa = (await edit.records(apex)).filter((r) => r.type === RRType.SOA);
      const serialless = (r: StoredRecord) => ({ ...r, rdata: withSoaSerial(r.rdata, 0) });
      const soaChanged = state.current_version !== null && !sameRecords([serialless(soa)], servedSoa.map(serialless));
      if (changes.length === 0 && !soaChanged && state.current_version !== null) return { result: planned, committed: null };
      if (options.dryRun) return { result: planned, committed: null };
      try {
        const committed =
          state.current_version === null || state.serial === null
            ? await firstVersion(budget, zone, apex, owner, edit, soa, clock())
            : await nextVersion(budget, zone, apex, owner, edit, soa, state.serial, clock());
        // The status words name where the version came from (the IXFR path writes "from an IXFR").
        await budget.run(
          budget.prepare("UPDATE zones SET status_detail = ?2 WHERE id = ?1 AND current_version = ?3", [
            zone.id,
            `serving serial ${committed.serial} (${committed.recordCount} records), edited here`,
            committed.version,
          ]),
        );
        return { result: planned, committed };
      } catch (err) {
        if (err instanceof StoreError && err.code === "conflict" && attempt < EDIT_ATTEMPTS) continue;
        throw err;
      }
    }
  } finally {
    await releaseLease(budget, zone.id, owner).catch(() => {});
  }
}

function isAbort<T>(value: T | Abort<T>): value is Abort<T> {
  return typeof value === "object" && value !== null && "abort" in value;
}

/** The changeset: old SOA and every record that leaves, new SOA and every record that comes (RFC 1995 §4). */
async function nextVersion(
  budget: Budget,
  zone: EditZone,
  apex: Name,
  owner: string,
  edit: ZoneEdit,
  soa: StoredRecord,
  oldSerial: number,
  now: number,
): Promise<{ version: number; serial: number; recordCount: number }> {
  const oldSoa = (await edit.records(apex)).find((r) => r.type === RRType.SOA);
  if (!oldSoa) throw new StoreError("inconsistent", `the served version of ${zone.name} has no SOA`);
  const serial = nextSerial(zone.serialPolicy, oldSerial, now);
  const deletions: OwnedRecord[] = [{ name: apex, ...oldSoa }];
  const additions: OwnedRecord[] = [{ name: apex, ...soa, rdata: withSoaSerial(soa.rdata, serial) }];
  for (const c of edit.changes()) {
    const kept = (r: StoredRecord, list: StoredRecord[]) => list.some((x) => compareRecords(x, r) === 0 && x.ttl === r.ttl);
    for (const r of c.before) if (!kept(r, c.after)) deletions.push({ name: c.name, ...r });
    for (const r of c.after) if (!kept(r, c.before)) additions.push({ name: c.name, ...r });
  }
  const result = await applyChangesets(budget, { id: zone.id, name: apex }, owner, [
    { fromSerial: oldSerial, toSerial: serial, deletions: encodeRecordStream(deletions), additions: encodeRecordStream(additions) },
  ]);
  return { version: result.version, serial: result.serial, recordCount: result.recordCount };
}

/** A zone with no data yet gets its first version as a full load (no journal entry: there is no step before it). */
async function firstVersion(
  budget: Budget,
  zone: EditZone,
  apex: Name,
  owner: string,
  edit: ZoneEdit,
  soa: StoredRecord,
  now: number,
): Promise<{ version: number; serial: number; recordCount: number }> {
  const serial = firstSerial(zone.serialPolicy, now);
  const records: OwnedRecord[] = [{ name: apex, ...soa, rdata: withSoaSerial(soa.rdata, serial) }];
  for (const c of edit.changes()) for (const r of c.after) records.push({ name: c.name, ...r });
  if (!edit.changes().some((c) => c.name.equals(apex))) {
    throw new EditRefused(`the apex ${apex} needs an NS RRset`);
  }
  const ref = { id: zone.id, name: apex };
  const version = await beginIngest(budget, ref, owner, now);
  try {
    await appendChunk(budget, ref, version, 0, encodeRecordStream(records), owner);
    const result = await commitIngest(budget, ref, version, owner, { serial, now });
    return { version: result.version, serial: result.serial, recordCount: result.recordCount };
  } catch (err) {
    await abortIngest(budget, ref, version, owner).catch(() => {});
    throw err;
  }
}

/** Every node of the served version (for an import's difference), main tree only. */
export async function* servedNodes(db: D1Queryable, zoneId: number, version: number | null): AsyncGenerator<{ name: Name; records: StoredRecord[] }> {
  if (version === null) return;
  for await (const node of versionNodes(db, zoneId, version)) yield node;
}
