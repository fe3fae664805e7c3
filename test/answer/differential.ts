/**
 * @module The differential harness (issue 7's done-criterion, and issue 8's with DO=1): the same zones go into
 * knotd, nsd and Backstop's engine, generated questions go to all three, and wherever knotd and nsd give the
 * same section Backstop must give it too (rcode, AA, TC, answer, authority, and additional for referrals).
 * Where the two disagree, Backstop's choice must be one documented in docs/conformance.md
 * (`documentedChoice`); the kinds found are printed.
 */
import { writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Opcode, RRClass, RRType, typeFromString } from "../../dns/constants.ts";
import { noFlags } from "../../dns/header.ts";
import { encodeMessage, type Message } from "../../dns/message.ts";
import { Name } from "../../dns/name.ts";
import { answerQuery } from "../../answer/engine.ts";
import { MemoryZoneStore } from "../../answer/store/memory-zone-store.ts";
import { zoneRecords } from "../../answer/testing/load-zone.ts";
import { startKnotd, startNsd } from "../peers/index.ts";
import type { PeerHandle } from "../peers/types.ts";
import { comparedSections, documentedChoice, type Section, view } from "./compare.ts";
import { generateQuestions, type Question } from "./queries.ts";
import { TcpSession, udpExchange } from "./wire-client.ts";

/** A zone for all three servers: its apex and master-file text (the peers get the same text as a file). */
export interface DifferentialZone {
  name: string;
  text: string;
}

export interface DifferentialOptions {
  /** Ask with DO=1 (RRSIGs and denial proofs are then compared too). */
  dnssecOk?: boolean;
  /** Seed of the question generator. */
  seed?: number;
}

function queryWire(q: Question, id: number, edns: boolean, dnssecOk: boolean): Uint8Array {
  const message: Message = {
    id,
    opcode: Opcode.QUERY,
    flags: noFlags(),
    rcode: 0,
    questions: [{ name: Name.parse(q.name), type: typeFromString(q.type)!, class: RRClass.IN }],
    answers: [],
    authorities: [],
    additionals: [],
  };
  if (edns) message.edns = { udpPayloadSize: 1232, extendedRcode: 0, version: 0, dnssecOk, flags: 0, options: [] };
  return encodeMessage(message).wire;
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T, R>(items: readonly T[], limit: number, work: (item: T, index: number, worker: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: limit }, async (_, worker) => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!, i, worker);
    }
  });
  await Promise.all(runners);
  return out;
}

interface Difference {
  question: Question;
  section: Section;
  knotd: string;
  nsd: string;
  backstop: string;
}

/** Declares the differential tests for `zones()` (resolved in beforeAll, e.g. after signing). */
export function describeDifferential(title: string, zones: () => Promise<DifferentialZone[]>, options: DifferentialOptions = {}): void {
  describe(title, () => {
  const dnssecOk = options.dnssecOk ?? false;
  let ZONES: DifferentialZone[] = [];
  let store: MemoryZoneStore;
  let questions: Question[] = [];
  let knotd: PeerHandle;
  let nsd: PeerHandle;
  beforeAll(async () => {
    ZONES = await zones();
    store = new MemoryZoneStore(
      ZONES.map((z, i) => {
        const apex = Name.parse(z.name);
        return { info: { id: i + 1, name: apex, model: "secondary", version: 1, expiresAt: null, answerAllow: [] }, records: zoneRecords(z.text, apex) };
      }),
    );
    // Questions about the zone's names, not the NSEC3 chain's hashed owners.
    const nsec3Chain = (r: { type: number; rdata: Uint8Array }) =>
      r.type === RRType.NSEC3 || (r.type === RRType.RRSIG && ((r.rdata[0]! << 8) | r.rdata[1]!) === RRType.NSEC3);
    const owners = ZONES.flatMap((z) => zoneRecords(z.text, Name.parse(z.name)).filter((r) => !nsec3Chain(r)).map((r) => r.name));
    questions = generateQuestions(owners, options.seed ?? 7);
    [knotd, nsd] = await Promise.all([startKnotd({ zones: ZONES }), startNsd({ zones: ZONES })]);
  });
  afterAll(async () => {
    await Promise.all([knotd?.stop(), nsd?.stop()]);
  });

  /** Asks all three, compares; returns the differences where the peers agree, and where they do not. */
  async function compareAll(list: readonly Question[], transport: "udp" | "tcp", edns: boolean) {
    const mismatches: Difference[] = [];
    const disagreements: Difference[] = [];
    // Over TCP each of the 8 workers keeps one connection per peer.
    const sessions = new Map<string, TcpSession>();
    const exchange = (peer: PeerHandle, wire: Uint8Array, worker: number): Promise<Uint8Array> => {
      if (transport === "udp") return udpExchange(peer, wire);
      const key = `${peer.kind}/${worker}`;
      let session = sessions.get(key);
      if (!session) sessions.set(key, (session = new TcpSession(peer)));
      return session.exchange(wire);
    };
    await pool(list, 8, async (q, i, worker) => {
      const wire = queryWire(q, (i * 7919) & 0xffff, edns, dnssecOk);
      const [k, n, b] = await Promise.all([
        exchange(knotd, wire, worker).then(view),
        exchange(nsd, wire, worker).then(view),
        answerQuery(store, wire, { transport, client: { admin: false }, now: Date.now() }).then((r) => view(r.wire)),
      ]);
      for (const section of comparedSections(k, n)) {
        const d = { question: q, section, knotd: k[section], nsd: n[section], backstop: b[section] };
        if (k[section] !== n[section]) disagreements.push(d);
        else if (b[section] !== k[section]) mismatches.push(d);
      }
    });
    for (const session of sessions.values()) session.close();
    return { mismatches, disagreements };
  }

  const show = (list: Difference[]) =>
    list
      .slice(0, 40)
      .map((d) => `${d.question.name} ${d.question.type} [${d.section}]\n  knotd:    ${d.knotd.replace(/\n/g, "\n            ")}\n  nsd:      ${d.nsd.replace(/\n/g, "\n            ")}\n  backstop: ${d.backstop.replace(/\n/g, "\n            ")}`)
      .join("\n");

  /** Every knotd/nsd disagreement must be a documented choice that Backstop made (docs/conformance.md). */
  function expectDocumented(disagreements: Difference[]): void {
    const kinds = new Map<string, number>();
    const undocumented: Difference[] = [];
    for (const d of disagreements) {
      const kind = documentedChoice({ ...d, qtype: d.question.type, qname: d.question.name });
      if (kind) kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      else undocumented.push(d);
    }
    console.log(`knotd and nsd disagree on ${disagreements.length} sections: ${JSON.stringify(Object.fromEntries(kinds))}`);
    expect(undocumented, `disagreements outside docs/conformance.md's choices:\n${show(undocumented)}`).toEqual([]);
  }

  it("agrees wherever knotd and nsd agree, over TCP", async () => {
    expect(questions.length).toBeGreaterThan(500);
    const { mismatches, disagreements } = await compareAll(questions, "tcp", true);
    // BACKSTOP_DIFF_REPORT=file.json keeps every disagreement, for docs/conformance.md.
    if (process.env.BACKSTOP_DIFF_REPORT) {
      const file = `${process.env.BACKSTOP_DIFF_REPORT}-${title.replace(/\W+/g, "-")}.json`;
      await writeFile(file, JSON.stringify({ mismatches, disagreements }, null, 2));
    }
    expect(mismatches, `Backstop differs where knotd and nsd agree:\n${show(mismatches)}`).toEqual([]);
    expectDocumented(disagreements);
  });

  it("agrees over UDP without EDNS (512 octets: truncation)", async () => {
    const udpQuestions = questions.filter((q) => ["A", "TXT", "MX", "NS", "ANY", "SRV"].includes(q.type));
    const { mismatches, disagreements } = await compareAll(udpQuestions, "udp", false);
    expect(mismatches, `Backstop differs where knotd and nsd agree:\n${show(mismatches)}`).toEqual([]);
    expectDocumented(disagreements);
    // The zone holds an RRset too big for 512 octets, so truncation was really exercised.
    expect(udpQuestions.some((q) => q.name.toLowerCase() === "big.diff.test." && q.type === "TXT")).toBe(true);
  });
});
}
