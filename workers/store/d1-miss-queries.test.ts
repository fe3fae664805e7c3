/**
 * What one cache miss costs in D1 (issue 28 item 4): the D1 store over a counting wrapper of the real local
 * D1, two signed zones (NSEC and NSEC3) of a few thousand owners ingested as the transfer-service ships
 * them, and the engine answering with DO=1. For each typical query kind the number of D1 statements is
 * fixed here, so a change that adds a query to a miss fails this test; the rows D1 reads for them
 * (`meta.rows_read`, what D1 bills) are bounded too.
 *
 * A miss here: a store whose zone pointers and apex block are warm (every answer of the zone reads the
 * apex, so a serving isolate always has it) asks for a name whose block it has not read. Each name is
 * checked first to lie inside one block with its neighbours (not at a block's edge, not in the apex's
 * block), from the `blocks` table itself, so the counts do not hang on where the ingest happened to cut.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { storedZone } from "./testing/stored-zone.ts";
import { RRClass, RRType, Rcode } from "../../dns/constants.ts";
import { decodeMessage } from "../../dns/message.ts";
import { Name } from "../../dns/name.ts";
import { answerQuery } from "../../answer/engine.ts";
import { nsec3Digest, hashedOwner, type Nsec3Params } from "../../answer/nsec3-hash.ts";
import type { OwnedRecord } from "../../answer/store/stored-node.ts";
import { queryWire } from "../../answer/testing/table.ts";
import { textToBytes } from "./blob-text.ts";
import { decodeBlock } from "./block-codec.ts";
import { D1ZoneStore } from "./d1-zone-store.ts";
import { soaRdata, txtRdata } from "./synthetic-zone.ts";

const OWNERS = 3000;
const PARAMS: Nsec3Params = { algorithm: 1, flags: 0, iterations: 0, salt: Uint8Array.of(0xab, 0xcd) };
const IN = RRClass.IN;
const bitmap = (...types: number[]) => {
  // One window (0): enough for the types used here (all below 256).
  const bits = new Uint8Array(32);
  for (const t of types) bits[t >> 3]! |= 0x80 >> (t & 7);
  let len = 32;
  while (len > 0 && bits[len - 1] === 0) len--;
  return [0, len, ...bits.subarray(0, len)];
};
const paramsBytes = [PARAMS.algorithm, PARAMS.flags, 0, PARAMS.iterations, PARAMS.salt.length, ...PARAMS.salt];
const rrsig = (covered: number) => Uint8Array.of(covered >> 8, covered & 255, 13, 2, 0, 0, 1, 44, 0x7f, 0, 0, 0, 0x60, 0, 0, 0, 0, 1, 0, ...new Array<number>(64).fill(9));

/** Owners `h0000`…, each with A and TXT; `h1000` a delegation with glue, `*.h1500` a wildcard. */
function owners(apex: Name): Array<{ name: Name; records: Array<{ type: number; rdata: Uint8Array }> }> {
  const out: Array<{ name: Name; records: Array<{ type: number; rdata: Uint8Array }> }> = [
    { name: apex, records: [{ type: RRType.SOA, rdata: soaRdata(apex, 1) }, { type: RRType.NS, rdata: apex.child("ns1").toWire() }] },
    { name: apex.child("ns1"), records: [{ type: RRType.A, rdata: Uint8Array.of(192, 0, 2, 53) }] },
  ];
  for (let i = 0; i < OWNERS; i++) {
    const name = apex.child(`h${String(i).padStart(4, "0")}`);
    if (i === 1000) {
      out.push({ name, records: [{ type: RRType.NS, rdata: name.child("ns").toWire() }] });
      out.push({ name: name.child("ns"), records: [{ type: RRType.A, rdata: Uint8Array.of(192, 0, 2, 54) }] });
      continue;
    }
    out.push({ name, records: [{ type: RRType.A, rdata: Uint8Array.of(10, 0, i >> 8, i & 255) }, { type: RRType.TXT, rdata: txtRdata(`owner ${i}`) }] });
    if (i === 1500) out.push({ name: name.child("*"), records: [{ type: RRType.A, rdata: Uint8Array.of(10, 1, 2, 3) }] });
  }
  return out;
}

/** The glue below the cut at h1000: not authoritative, so no NSEC/NSEC3 and no RRSIG (RFC 4035 §2.2–2.3). */
const glueOf = (apex: Name) => apex.child("h1000").child("ns");

/**
 * The nodes' records, each authoritative RRset with a (fake) RRSIG; a delegation's NS is not signed
 * (RFC 4035 §2.2).
 */
function signedRecords(apex: Name, nodes: ReturnType<typeof owners>): OwnedRecord[] {
  const glue = glueOf(apex);
  const out: OwnedRecord[] = [];
  for (const n of nodes) {
    for (const r of n.records) out.push({ name: n.name, type: r.type, class: IN, ttl: 300, rdata: r.rdata });
    if (n.name.equals(glue)) continue;
    for (const t of new Set(n.records.map((r) => r.type))) {
      if (t !== RRType.NS || n.name.equals(apex)) out.push({ name: n.name, type: RRType.RRSIG, class: IN, ttl: 300, rdata: rrsig(t) });
    }
  }
  return out;
}

/** An NSEC-signed zone: every authoritative owner has an NSEC to the next one in canonical order. */
function nsecZone(apex: Name): OwnedRecord[] {
  const nodes = owners(apex).sort((a, b) => a.name.compare(b.name));
  const chain = nodes.filter((n) => !n.name.equals(glueOf(apex)));
  chain.forEach((n, i) => {
    const next = chain[(i + 1) % chain.length]!.name;
    const types = [...n.records.map((r) => r.type), RRType.NSEC, RRType.RRSIG];
    n.records.push({ type: RRType.NSEC, rdata: Uint8Array.from([...next.toWire(), ...bitmap(...types)]) });
  });
  return signedRecords(apex, nodes);
}

/** An NSEC3-signed zone (RFC 5155): NSEC3PARAM at the apex and a real hash chain over the owners. */
async function nsec3Zone(apex: Name): Promise<OwnedRecord[]> {
  const nodes = owners(apex);
  nodes[0]!.records.push({ type: RRType.NSEC3PARAM, rdata: Uint8Array.from(paramsBytes) });
  const hashed = await Promise.all(
    nodes.filter((n) => !n.name.equals(glueOf(apex))).map(async (n) => ({ n, digest: await nsec3Digest(n.name, PARAMS) })),
  );
  hashed.sort((a, b) => {
    for (let i = 0; i < a.digest.length; i++) if (a.digest[i] !== b.digest[i]) return a.digest[i]! - b.digest[i]!;
    return 0;
  });
  const out = signedRecords(apex, nodes);
  for (const [i, { n }] of hashed.entries()) {
    const next = hashed[(i + 1) % hashed.length]!.digest;
    const owner = await hashedOwner(n.name, apex, PARAMS);
    const types = [...n.records.map((r) => r.type), ...(n.records.some((r) => r.type !== RRType.NS) || n.name.equals(apex) ? [RRType.RRSIG] : [])];
    out.push({ name: owner, type: RRType.NSEC3, class: IN, ttl: 300, rdata: Uint8Array.from([...paramsBytes, next.length, ...next, ...bitmap(...types)]) });
    out.push({ name: owner, type: RRType.RRSIG, class: IN, ttl: 300, rdata: rrsig(RRType.NSEC3) });
  }
  return out;
}

interface Counts {
  statements: number;
  rowsRead: number;
}

/**
 * `db` with every statement counted: `first`, `all`, `raw` and `run`, and each statement of a `batch`.
 * `first` is answered through `all`, so that its `meta.rows_read` can be counted too.
 */
function counting(db: D1Database, counts: Counts): D1Database {
  const wrap = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, key) {
        if (key === "bind") return (...values: unknown[]) => wrap(target.bind(...values));
        if (key === "first") {
          return async (column?: string) => {
            const result = await target.all<Record<string, unknown>>();
            counts.statements++;
            counts.rowsRead += result.meta.rows_read;
            const row = result.results[0];
            return row === undefined ? null : column === undefined ? row : row[column];
          };
        }
        if (key === "all" || key === "run") {
          return async () => {
            const result = await target[key]();
            counts.statements++;
            counts.rowsRead += result.meta.rows_read;
            return result;
          };
        }
        if (key === "raw") throw new Error("the answer path does not use raw()");
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  return new Proxy(db, {
    get(target, key) {
      if (key === "prepare") return (sql: string) => wrap(target.prepare(sql));
      if (key === "batch") throw new Error("the answer path does not batch");
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function ingest(apex: Name, records: OwnedRecord[]): Promise<number> {
  return (await storedZone(env.DB, apex, [...records, records[0]!], { owner: "miss-test", commit: { serial: 1 } })).id;
}

/** True when `low` and `high` (in canonical order) lie in one block of the main tree, other than the apex's. */
async function oneInnerBlock(zoneId: number, apex: Name, low: Name, high: Name): Promise<boolean> {
  const row = await env.DB.prepare(
    `SELECT (SELECT COUNT(*) FROM blocks WHERE zone_id = ?1 AND tree = 0 AND first_key > ?2 AND first_key <= ?3) AS cuts,
            (SELECT COUNT(*) FROM blocks WHERE zone_id = ?1 AND tree = 0 AND first_key > ?4 AND first_key <= ?2) AS after_apex`,
  )
    .bind(zoneId, low.sortKey(), high.sortKey(), apex.sortKey())
    .first<{ cuts: number; after_apex: number }>();
  return row!.cuts === 0 && row!.after_apex > 0;
}

interface Case {
  kind: string;
  qname: string;
  qtype: string;
  rcode: number;
  /** The names, lowest and highest, whose block the answer reads (checked to be one inner block). */
  span: [string, string];
  /** D1 statements for the miss. */
  statements: { nsec: number; nsec3: number };
}

// With the apex block warm, each of these reads exactly the block holding the name (its neighbours, its
// closest encloser, the wildcard, the glue and the NSEC records that prove the denial are in it). An NSEC3
// proof reads one block of the NSEC3 tree besides: the one holding the hash it needs (the next closer
// name's, or the name's own); the closest encloser here is the apex or a name of the same block, and the
// NSEC3 records of the apex and of `*.apex` are warm, as in any isolate serving the zone.
const CASES: Case[] = [
  { kind: "positive", qname: "h0500", qtype: "A", rcode: Rcode.NOERROR, span: ["h0499", "h0501"], statements: { nsec: 1, nsec3: 1 } },
  { kind: "NODATA", qname: "h0700", qtype: "AAAA", rcode: Rcode.NOERROR, span: ["h0699", "h0701"], statements: { nsec: 1, nsec3: 2 } },
  { kind: "NXDOMAIN", qname: "h2200x", qtype: "A", rcode: Rcode.NXDOMAIN, span: ["h2200", "h2201"], statements: { nsec: 1, nsec3: 2 } },
  { kind: "referral", qname: "www.h1000", qtype: "A", rcode: Rcode.NOERROR, span: ["h0999", "h1001"], statements: { nsec: 1, nsec3: 2 } },
  { kind: "wildcard", qname: "x.h1500", qtype: "A", rcode: Rcode.NOERROR, span: ["h1500", "h1501"], statements: { nsec: 1, nsec3: 2 } },
];

describe("D1 statements and rows read per cache miss", () => {
  const zones = { nsec: { apex: Name.parse("nsec-miss.example."), id: 0 }, nsec3: { apex: Name.parse("nsec3-miss.example."), id: 0 } };

  beforeAll(async () => {
    zones.nsec.id = await ingest(zones.nsec.apex, nsecZone(zones.nsec.apex));
    zones.nsec3.id = await ingest(zones.nsec3.apex, await nsec3Zone(zones.nsec3.apex));
  });

  /** A store over the counting wrapper, warm as a serving isolate is: the zone's pointers and its apex. */
  async function warmStore(signing: "nsec" | "nsec3") {
    const { apex } = zones[signing];
    const counts: Counts = { statements: 0, rowsRead: 0 };
    const store = new D1ZoneStore(counting(env.DB, counts), { pointerTtlMs: 60_000 });
    const ask = async (qname: Name, qtype: string) =>
      decodeMessage((await answerQuery(store, queryWire(qname.toString(), qtype, { dnssecOk: true }), { transport: "tcp", client: { admin: false }, now: Date.now() })).wire);
    // The apex's SOA, and an NXDOMAIN in the last block (which reads the NSEC3 of the apex and of `*.apex`).
    expect((await ask(apex, "SOA")).rcode).toBe(Rcode.NOERROR);
    expect((await ask(Name.parse(`none-at-apex-x.${apex}`), "A")).rcode).toBe(Rcode.NXDOMAIN);
    return { counts, ask };
  }

  for (const signing of ["nsec", "nsec3"] as const) {
    it.each(CASES)(`${signing}: $kind ($qname $qtype)`, async (c) => {
      const { apex, id } = zones[signing];
      const at = (label: string) => Name.parse(`${label}.${apex}`);
      expect(await oneInnerBlock(id, apex, at(c.span[0]), at(c.span[1])), `${c.span.join("…")} in one inner block`).toBe(true);
      const { counts, ask } = await warmStore(signing);
      const before = { ...counts };
      const answer = await ask(at(c.qname), c.qtype);
      expect(answer.rcode).toBe(c.rcode);
      expect(answer.answers.length + answer.authorities.length).toBeGreaterThan(0);
      const statements = counts.statements - before.statements;
      const rowsRead = counts.rowsRead - before.rowsRead;
      console.log(`${signing} ${c.kind}: ${statements} D1 statements, ${rowsRead} rows read`);
      expect(statements).toBe(c.statements[signing]);
      expect(rowsRead).toBeLessThanOrEqual(statements * 16);
    });

    it(`${signing}: the first owner of a block is found without reading the block before it`, async () => {
      const { id } = zones[signing];
      const { results } = await env.DB.prepare("SELECT data FROM blocks WHERE zone_id = ? AND tree = 0 ORDER BY first_key LIMIT 5").bind(id).all<{ data: string }>();
      expect(results).toHaveLength(5);
      const first = decodeBlock(textToBytes(results[4]!.data))[0]!;
      const { counts, ask } = await warmStore(signing);
      const before = counts.statements;
      const answer = await ask(first.name, "A");
      expect(answer.answers.map((r) => r.type)).toEqual([RRType.A, RRType.RRSIG]);
      expect(answer.answers[0]!.name.toString()).toBe(first.name.toString());
      expect(counts.statements - before).toBe(1);
    });
  }
});
