/**
 * @module Test support for the TSIG unit tests: small DNS messages built octet by octet with the wire
 * writer (compression on, as servers send them), and a deterministic clock. Not used by production code.
 */
import { RRClass, RRType } from "../constants.ts";
import { Name } from "../name.ts";
import { WireWriter } from "../wire/writer.ts";
import type { Clock } from "./time.ts";

export interface TestRecord {
  name: string;
  type: number;
  ttl?: number;
  /** Writes the RDATA. */
  rdata: (w: WireWriter) => void;
}

export interface TestMessage {
  id: number;
  /** The 16-bit flags word (QR, opcode, AA, TC, RD, RA, RCODE). */
  flags: number;
  question?: { name: string; type: number };
  answers?: TestRecord[];
  additional?: TestRecord[];
}

export const aRecord = (name: string, address: string, ttl = 86400): TestRecord => ({
  name,
  type: RRType.A,
  ttl,
  rdata: (w) => address.split(".").forEach((o) => w.u8(Number(o))),
});

export const nsRecord = (name: string, target: string, ttl = 86400): TestRecord => ({
  name,
  type: RRType.NS,
  ttl,
  rdata: (w) => w.name(Name.parse(target)),
});

export const soaRecord = (name: string, mname: string, rname: string, serial: number, times: number[], ttl = 86400): TestRecord => ({
  name,
  type: RRType.SOA,
  ttl,
  rdata: (w) => {
    w.name(Name.parse(mname));
    w.name(Name.parse(rname));
    w.u32(serial);
    for (const t of times) w.u32(t);
  },
});

export function buildMessage(m: TestMessage): Uint8Array {
  const w = new WireWriter();
  w.u16(m.id);
  w.u16(m.flags);
  w.u16(m.question ? 1 : 0);
  w.u16(m.answers?.length ?? 0);
  w.u16(0);
  w.u16(m.additional?.length ?? 0);
  if (m.question) {
    w.name(Name.parse(m.question.name));
    w.u16(m.question.type);
    w.u16(RRClass.IN);
  }
  for (const rr of [...(m.answers ?? []), ...(m.additional ?? [])]) {
    w.name(Name.parse(rr.name));
    w.u16(rr.type);
    w.u16(RRClass.IN);
    w.u32(rr.ttl ?? 3600);
    const at = w.mark();
    w.u16(0);
    rr.rdata(w);
    w.setU16(at, w.length - at - 2);
  }
  return w.finish();
}

/** A clock fixed at `seconds` since the epoch. */
export const fixedClock = (seconds: number): Clock => () => seconds * 1000;

export const hex = (text: string): Uint8Array => Uint8Array.from(text.match(/../g)!.map((b) => parseInt(b, 16)));
export const toHex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
