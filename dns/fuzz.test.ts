/**
 * @module Fuzzing the message reader with a fixed seed: random octets and mutations of the captured
 * dig/kdig/knotd messages (bit flips, truncations, count changes, pointer rewrites, splices, insertions,
 * 16-bit overwrites). The only allowed outcomes are a decoded message or a typed `WireError`/`NameError`;
 * anything else (TypeError, RangeError, a hang) fails. Every message that decodes is encoded again and
 * must decode to the same message. A last part builds random messages from real records and checks that
 * encoding with random size limits always produces a readable message that truncates by the rules.
 *
 * Seeded PRNG rather than fast-check for the bulk: 100k+ cases must run in a couple of seconds in CI.
 */
import { describe, expect, it } from "vitest";
import { RRType } from "./constants.ts";
import { type Message, type ResourceRecord, decodeMessage, encodeMessage } from "./message.ts";
import { Name, NameError } from "./name.ts";
import { loadFixtures } from "./testdata/fixtures.ts";
import { prng } from "./testing/prng.ts";
import { WireError } from "./wire/reader.ts";


// The 16 KB messages of the multi-message AXFR add time, not new shapes: mutate the rest.
const fixtures = loadFixtures().map((f) => f.wire).filter((w) => w.length <= 4096);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameRecord(a: ResourceRecord, b: ResourceRecord): boolean {
  return a.type === b.type && a.class === b.class && a.ttl === b.ttl && a.name.toString() === b.name.toString() &&
    sameBytes(a.rdata, b.rdata);
}

function sameRecords(a: ResourceRecord[], b: ResourceRecord[]): boolean {
  return a.length === b.length && a.every((r, i) => sameRecord(r, b[i]!));
}

/** Every field of two messages equal (names compared case-sensitively), the TSIG offset aside. */
function sameMessage(a: Message, b: Message): boolean {
  const fa = a.flags, fb = b.flags;
  const flagsEqual = fa.qr === fb.qr && fa.aa === fb.aa && fa.tc === fb.tc && fa.rd === fb.rd && fa.ra === fb.ra &&
    fa.z === fb.z && fa.ad === fb.ad && fa.cd === fb.cd;
  const questionsEqual = a.questions.length === b.questions.length && a.questions.every((q, i) => {
    const p = b.questions[i]!;
    return q.type === p.type && q.class === p.class && q.name.toString() === p.name.toString();
  });
  const ednsEqual = a.edns === undefined ? b.edns === undefined : b.edns !== undefined &&
    a.edns.udpPayloadSize === b.edns.udpPayloadSize && a.edns.extendedRcode === b.edns.extendedRcode &&
    a.edns.version === b.edns.version && a.edns.dnssecOk === b.edns.dnssecOk && a.edns.flags === b.edns.flags &&
    a.edns.options.length === b.edns.options.length &&
    a.edns.options.every((o, i) => o.code === b.edns!.options[i]!.code && sameBytes(o.data, b.edns!.options[i]!.data));
  const tsigEqual = a.tsig === undefined ? b.tsig === undefined : b.tsig !== undefined && sameRecord(a.tsig.record, b.tsig.record);
  return a.id === b.id && a.opcode === b.opcode && a.rcode === b.rcode && flagsEqual && questionsEqual &&
    sameRecords(a.answers, b.answers) && sameRecords(a.authorities, b.authorities) &&
    sameRecords(a.additionals, b.additionals) && ednsEqual && tsigEqual;
}

type Mutator = (rand: () => number) => Uint8Array;

const int = (rand: () => number, n: number) => Math.floor(rand() * n);
const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[int(rand, xs.length)]!;
const copyOf = (rand: () => number) => pick(rand, fixtures).slice();

const mutators: Array<[name: string, mutate: Mutator]> = [
  ["random octets", (rand) => {
    const out = new Uint8Array(int(rand, 300));
    for (let i = 0; i < out.length; i++) out[i] = int(rand, 256);
    return out;
  }],
  ["random body behind small counts", (rand) => {
    const out = new Uint8Array(12 + int(rand, 200));
    for (let i = 0; i < out.length; i++) out[i] = int(rand, 256);
    for (let c = 0; c < 4; c++) {
      out[4 + 2 * c] = 0;
      out[5 + 2 * c] = int(rand, 3);
    }
    return out;
  }],
  ["bit flips", (rand) => {
    const out = copyOf(rand);
    for (let k = 1 + int(rand, 4); k > 0; k--) out[int(rand, out.length)]! ^= 1 << int(rand, 8);
    return out;
  }],
  ["truncation", (rand) => {
    const f = pick(rand, fixtures);
    return f.slice(0, int(rand, f.length));
  }],
  ["count change", (rand) => {
    const out = copyOf(rand);
    const at = 4 + 2 * int(rand, 4);
    const now = (out[at]! << 8) | out[at + 1]!;
    const next = pick(rand, [now + 1, now - 1, 0, int(rand, 8), 0xffff]) & 0xffff;
    out[at] = next >> 8;
    out[at + 1] = next & 0xff;
    return out;
  }],
  ["pointer rewrite", (rand) => {
    const out = copyOf(rand);
    const pointers: number[] = [];
    for (let i = 12; i + 1 < out.length; i++) if ((out[i]! & 0xc0) === 0xc0) pointers.push(i);
    const at = pointers.length > 0 && rand() < 0.8 ? pick(rand, pointers) : 12 + int(rand, Math.max(1, out.length - 13));
    // Targets: anywhere, itself, just ahead, the header, or past the end.
    const target = pick(rand, [int(rand, out.length), at, at + 2, int(rand, 12), out.length + int(rand, 50)]) & 0x3fff;
    out[at] = 0xc0 | (target >> 8);
    if (at + 1 < out.length) out[at + 1] = target & 0xff;
    return out;
  }],
  ["splice", (rand) => {
    const a = pick(rand, fixtures), b = pick(rand, fixtures);
    const cutA = int(rand, a.length + 1), cutB = int(rand, b.length + 1);
    const out = new Uint8Array(cutA + b.length - cutB);
    out.set(a.subarray(0, cutA));
    out.set(b.subarray(cutB), cutA);
    return out;
  }],
  ["insert or delete octets", (rand) => {
    const f = pick(rand, fixtures);
    const at = int(rand, f.length + 1);
    const n = 1 + int(rand, 4);
    if (rand() < 0.5) {
      const out = new Uint8Array(f.length + n);
      out.set(f.subarray(0, at));
      for (let i = 0; i < n; i++) out[at + i] = int(rand, 256);
      out.set(f.subarray(at), at + n);
      return out;
    }
    const out = new Uint8Array(Math.max(0, f.length - n));
    out.set(f.subarray(0, at).subarray(0, out.length));
    if (at < out.length) out.set(f.subarray(at + n, at + n + out.length - at), at);
    return out;
  }],
  ["16-bit overwrite (lengths, types)", (rand) => {
    const out = copyOf(rand);
    const at = int(rand, Math.max(1, out.length - 1));
    const v = pick(rand, [0, 1, 0xffff, int(rand, 0x10000), RRType.OPT, RRType.TSIG, RRType.SOA, RRType.NAPTR]);
    out[at] = v >> 8;
    if (at + 1 < out.length) out[at + 1] = v & 0xff;
    return out;
  }],
];

const CASES_PER_MUTATOR = 12_000; // × 9 mutators = 108k messages

describe("fuzz: decodeMessage on random and mutated messages (fixed seeds)", () => {
  it(`${CASES_PER_MUTATOR * mutators.length} messages: typed errors or a faithful round trip, nothing else`, () => {
    const outcomes = new Map<string, number>();
    const failures: string[] = [];
    let decoded = 0;
    let slowest = 0;
    const perMutator: string[] = [];
    // Most cases end in a thrown WireError; capturing 100k stack traces nobody reads would be most of the cost.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    const cpuStart = process.cpuUsage();
    try {
      mutators.forEach(([name, mutate], m) => {
        const t0 = performance.now();
        const rand = prng(0x5eed0000 + m);
        for (let i = 0; i < CASES_PER_MUTATOR; i++) {
          const wire = mutate(rand);
          const started = performance.now();
          let msg: Message | undefined;
          try {
            msg = decodeMessage(wire);
            decoded++;
          } catch (err) {
            if (err instanceof WireError || err instanceof NameError) {
              const key = err instanceof WireError ? err.code : `name:${err.code}`;
              outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
            } else if (failures.length < 10) {
              failures.push(`${name} #${i}: ${String(err)} for ${Array.from(wire, (b) => b.toString(16).padStart(2, "0")).join("")}`);
            }
          }
          if (msg !== undefined) {
            try {
              const again = encodeMessage(msg).wire;
              const back = decodeMessage(again);
              if (!sameMessage(msg, back)) throw new Error("re-decoded message differs");
              // Encoding is deterministic: the same message gives the same octets (sampled, it costs a full encode).
              if (i % 8 === 0 && !sameBytes(encodeMessage(back).wire, again)) throw new Error("re-encoding is not stable");
            } catch (err) {
              if (failures.length < 10) failures.push(`${name} #${i} round trip: ${String(err)}`);
            }
          }
          slowest = Math.max(slowest, performance.now() - started);
        }
        perMutator.push(`${name} ${Math.round(performance.now() - t0)} ms`);
      });
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    const cpu = process.cpuUsage(cpuStart);
    console.log(`fuzz: ${CASES_PER_MUTATOR * mutators.length} messages in ${Math.round((cpu.user + cpu.system) / 1000)} ms CPU; ${decoded} decoded; errors ${JSON.stringify(Object.fromEntries(outcomes))}; slowest ${slowest.toFixed(1)} ms; ${perMutator.join(", ")}`);
    expect(failures).toEqual([]);
    // The mutations must reach both sides: plenty decode, plenty fail, in many different ways.
    expect(decoded).toBeGreaterThan(10_000);
    expect([...outcomes.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(50_000);
    for (const code of ["truncated", "inconsistent", "trailing-data", "bad-pointer", "bad-label-type", "bad-opt", "bad-tsig"]) {
      expect(outcomes.get(code) ?? 0, code).toBeGreaterThan(100);
    }
    // No input takes long: every loop is bounded by the message size (generous for a loaded CI machine).
    expect(slowest).toBeLessThan(1000);
  });
});

describe("fuzz: encodeMessage with random records and size limits (fixed seed)", () => {
  // Real records from the captures, RDATA uncompressed, of many types.
  const pool: ResourceRecord[] = [];
  for (const wire of fixtures) {
    const m = decodeMessage(wire);
    pool.push(...m.answers, ...m.authorities, ...m.additionals);
  }
  const owners = ["example.com.", "WWW.example.com.", "a.b.c.example.com.", "sub.EXAMPLE.com.", "other.net.", "."].map((t) => Name.parse(t));

  it("always yields a readable message that keeps whole RRsets, OPT and the question", () => {
    const rand = prng(0x2181);
    let truncatedCount = 0;
    const problems: string[] = [];
    const check = (ok: boolean, what: string, i: number) => {
      if (!ok && problems.length < 10) problems.push(`#${i}: ${what}`);
    };
    for (let i = 0; i < 1500; i++) {
      const records = () =>
        Array.from({ length: int(rand, 12) }, () => ({ ...pick(rand, pool), name: pick(rand, owners) }));
      const msg: Message = {
        id: int(rand, 0x10000),
        opcode: int(rand, 16),
        flags: { qr: true, aa: rand() < 0.5, tc: false, rd: rand() < 0.5, ra: false, z: false, ad: false, cd: false },
        rcode: int(rand, 16),
        questions: [{ name: pick(rand, owners), type: pick(rand, pool).type, class: 1 }],
        answers: records(),
        authorities: records(),
        additionals: records(),
      };
      if (rand() < 0.7) {
        msg.edns = { udpPayloadSize: 1232, extendedRcode: 0, version: 0, dnssecOk: rand() < 0.5, flags: 0, options: [{ code: 3, data: new Uint8Array(int(rand, 40)) }] };
      }
      const maxSize = 128 + int(rand, 1500);
      const { wire, truncated, additionalsDropped } = encodeMessage(msg, { maxSize });
      check(wire.length <= maxSize, `${wire.length} octets over ${maxSize}`, i);
      const back = decodeMessage(wire);
      check(back.flags.tc === truncated, "TC differs from `truncated`", i);
      check(back.questions.length === 1, "question lost", i);
      check((back.edns === undefined) === (msg.edns === undefined), "OPT lost", i);
      if (truncated) truncatedCount++;
      // Whatever was kept is a prefix of what was asked, cut at an RRset boundary.
      const sections: Array<[ResourceRecord[], ResourceRecord[]]> = [[msg.answers, back.answers], [msg.authorities, back.authorities], [msg.additionals, back.additionals]];
      for (const [asked, got] of sections) {
        check(sameRecords(asked.slice(0, got.length), got), "kept records are not a prefix of the asked ones", i);
        const next = asked[got.length];
        const last = got.at(-1);
        if (next !== undefined && last !== undefined) {
          check(!(next.type === last.type && next.class === last.class && next.name.equals(last.name)), "an RRset was split", i);
        }
      }
      if (!truncated) {
        check(back.answers.length + back.authorities.length === msg.answers.length + msg.authorities.length, "records dropped without TC", i);
        check(back.additionals.length === msg.additionals.length - additionalsDropped, "additionalsDropped miscounted", i);
      }
    }
    expect(problems).toEqual([]);
    expect(truncatedCount).toBeGreaterThan(50);
  });
});
