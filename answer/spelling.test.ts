/**
 * `respell`'s shortcut (`spelling.ts`): a message in which no name the speller reads has a capital is left
 * as it is, and everything else is spelled exactly as the speller spells it record by record.
 */
import { describe, expect, it } from "vitest";
import { RRClass, RRType } from "../dns/constants.ts";
import { noFlags } from "../dns/header.ts";
import type { Message, ResourceRecord } from "../dns/message.ts";
import { Name } from "../dns/name.ts";
import { respell, Speller } from "./spelling.ts";

const n = (t: string) => Name.parse(t);
const rr = (owner: string, type: number, rdata: Uint8Array): ResourceRecord => ({ name: n(owner), type, class: RRClass.IN, ttl: 300, rdata });
/** SOA rdata whose refresh (600 = 0x0258) and other counters hold octets in the range of ASCII capitals. */
const soa = (mname: string, rname: string) => Uint8Array.from([...n(mname).toWire(), ...n(rname).toWire(), 0, 0, 0x4a, 0x4b, 0, 0, 0x0e, 0x10, 0, 0, 0x02, 0x58, 0, 0x09, 0x3a, 0x80, 0, 0, 0x01, 0x2c]);
/** MX rdata with a preference of 0x5a5a ("ZZ"). */
const mx = (host: string) => Uint8Array.from([0x5a, 0x5a, ...n(host).toWire()]);

function message(qname: string, answers: ResourceRecord[], authorities: ResourceRecord[] = []): Message {
  return { id: 1, opcode: 0, flags: { ...noFlags(), qr: true }, rcode: 0, questions: [{ name: n(qname), type: RRType.MX, class: RRClass.IN }], answers, authorities, additionals: [] };
}

/** What the speller makes of a message, record by record: respell's result without its shortcut. */
function spelledByHand(m: Message): Message {
  const s = new Speller();
  const questions = m.questions.map((q) => ({ ...q, name: s.spell(q.name) }));
  return { ...m, questions, answers: m.answers.map((r) => s.record(r)), authorities: m.authorities.map((r) => s.record(r)), additionals: m.additionals.map((r) => s.record(r)) };
}

const wireNames = (m: Message) => [
  ...m.questions.map((q) => q.name.toString()),
  ...[...m.answers, ...m.authorities].map((r) => `${r.name.toString()} ${Buffer.from(r.rdata).toString("hex")}`),
];

describe("respell", () => {
  it("leaves a message whose names have no capital as it is, even when counters and preferences hold capital-like octets", () => {
    const m = message("mx-1.example.org.", [rr("mx-1.example.org.", RRType.MX, mx("host.example.org."))], [rr("example.org.", RRType.SOA, soa("ns1.example.org.", "hostmaster.example.org."))]);
    expect(respell(m)).toBe(m);
    expect(wireNames(spelledByHand(m))).toEqual(wireNames(m));
  });

  it("spells as the speller does when the question, an owner or a name in rdata has a capital", () => {
    const cases = [
      message("MX-1.Example.ORG.", [rr("mx-1.example.org.", RRType.MX, mx("host.example.org."))], [rr("example.org.", RRType.SOA, soa("ns1.example.org.", "hostmaster.example.org."))]),
      message("mx-1.example.org.", [rr("Mx-1.example.org.", RRType.MX, mx("host.example.org."))]),
      message("mx-1.example.org.", [rr("mx-1.example.org.", RRType.MX, mx("HOST.Example.org."))]),
      message("x.example.org.", [], [rr("example.org.", RRType.SOA, soa("ns1.EXAMPLE.org.", "hostmaster.example.org."))]),
    ];
    for (const m of cases) {
      const got = respell(m);
      expect(got).not.toBe(m);
      expect(wireNames(got)).toEqual(wireNames(spelledByHand(m)));
    }
    // The first case reads as Knot and NSD spell it: every name with the question's suffix spelling.
    expect(wireNames(respell(cases[0]!))[2]).toMatch(/^Example\.ORG\. /);
  });

  it("does not take a malformed SOA's short tail for counters: a capital in its names is still seen", () => {
    // Names that run into the last 20 octets: the shortcut must look at every octet of them.
    const rdata = Uint8Array.from([...n("ns1.example.org.").toWire(), ...n("HOSTMASTER.example.org.").toWire(), 0, 0, 0, 1]);
    const m = message("x.example.org.", [], [rr("example.org.", RRType.SOA, rdata)]);
    expect(wireNames(respell(m))).toEqual(wireNames(spelledByHand(m)));
  });
});
