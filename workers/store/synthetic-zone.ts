/**
 * @module Synthetic zones for the store's tests and benchmarks: an apex with SOA and NS, then `count`
 * owners with A, TXT and (for some) AAAA records, an empty non-terminal or two, and optionally an NSEC3
 * chain, emitted in a shuffled order as a primary may send them (RFC 5936 §2.2 sets no order).
 */
import { prng } from "../../dns/testing/prng.ts";
import { Name } from "../../dns/name.ts";
import { RRClass, RRType } from "../../dns/constants.ts";
import type { OwnedRecord } from "./record-stream.ts";

const encoder = new TextEncoder();


export function soaRdata(apex: Name, serial: number): Uint8Array {
  const mname = apex.child("ns1").toWire(), rname = apex.child("hostmaster").toWire();
  const out = new Uint8Array(mname.length + rname.length + 20);
  out.set(mname, 0);
  out.set(rname, mname.length);
  const view = new DataView(out.buffer, mname.length + rname.length);
  [serial, 3600, 600, 604800, 300].forEach((v, i) => view.setUint32(i * 4, v));
  return out;
}

export function txtRdata(text: string): Uint8Array {
  const bytes = encoder.encode(text);
  return Uint8Array.of(bytes.length, ...bytes);
}

/** base32hex (RFC 4648 §7) of a number, padded: a stand-in NSEC3 hashed label. */
export function hashLabel(i: number): string {
  const alphabet = "0123456789abcdefghijklmnopqrstuv";
  let s = "";
  let v = (Math.imul(i + 1, 2654435761) >>> 0) * 1024 + i;
  for (let k = 0; k < 32; k++) {
    s += alphabet[v % 32];
    v = Math.floor(v / 32) || k + i + 7;
  }
  return s;
}

export interface SyntheticZoneOptions {
  apex: string;
  serial: number;
  /** Number of owners below the apex. */
  count: number;
  /** Text put into every TXT record, to tell versions apart. */
  tag?: string;
  nsec3?: number;
  seed?: number;
}

export function syntheticZone(options: SyntheticZoneOptions): OwnedRecord[] {
  const apex = Name.parse(options.apex);
  const random = prng(options.seed ?? 1);
  const tag = options.tag ?? "v";
  const IN = RRClass.IN;
  const out: OwnedRecord[] = [
    { name: apex, type: RRType.SOA, class: IN, ttl: 3600, rdata: soaRdata(apex, options.serial) },
    { name: apex, type: RRType.NS, class: IN, ttl: 3600, rdata: apex.child("ns1").toWire() },
    { name: apex.child("ns1"), type: RRType.A, class: IN, ttl: 3600, rdata: Uint8Array.of(192, 0, 2, 53) },
  ];
  for (let i = 0; i < options.count; i++) {
    // One owner in ten sits two levels down (`h{i}.sub{i}`), so `sub{i}` is an empty non-terminal.
    const owner = i % 10 === 3 ? apex.child(`sub${i}`).child(`h${i}`) : apex.child(`h${i}`);
    out.push({ name: owner, type: RRType.A, class: IN, ttl: 300, rdata: Uint8Array.of(10, (i >> 16) & 255, (i >> 8) & 255, i & 255) });
    if (i % 3 === 0) out.push({ name: owner, type: RRType.TXT, class: IN, ttl: 300, rdata: txtRdata(`${tag} ${i}`) });
    if (i % 7 === 0) {
      const v6 = new Uint8Array(16);
      v6[0] = 0x20;
      v6[1] = 0x01;
      v6[15] = i & 255;
      out.push({ name: owner, type: RRType.AAAA, class: IN, ttl: 300, rdata: v6 });
    }
  }
  for (let i = 0; i < (options.nsec3 ?? 0); i++) {
    const owner = apex.child(hashLabel(i));
    const rdata = Uint8Array.of(1, 0, 0, 0, 0, 20, ...new Array<number>(20).fill(i & 255), 0, 1, 0x40);
    out.push({ name: owner, type: RRType.NSEC3, class: IN, ttl: 300, rdata });
    // An RRSIG covering NSEC3 (type covered 50) belongs to the NSEC3 tree as well.
    out.push({ name: owner, type: RRType.RRSIG, class: IN, ttl: 300, rdata: Uint8Array.of(0, 50, 13, 3, ...new Array<number>(20).fill(1)) });
  }
  // Shuffle (Fisher–Yates) but keep the SOA first, as an AXFR does; the closing SOA is appended too.
  for (let i = out.length - 1; i > 1; i--) {
    const j = 1 + Math.floor(random() * i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  out.push(out[0]!);
  return out;
}
