/**
 * @module EDNS(0) (RFC 6891): the OPT pseudo-record and what a server decides from it.
 *
 * The OPT RR reuses the RR fields (RFC 6891 §6.1.2–6.1.3):
 * - owner: the root; CLASS: the sender's UDP payload size;
 * - TTL: extended RCODE (upper 8 of the 12-bit rcode) | VERSION | DO | 15 more flag bits (Z);
 * - RDATA: options, each {OPTION-CODE, OPTION-LENGTH, OPTION-DATA}.
 *
 * Options are kept in order and as received; the server acts on the ones it knows and ignores the rest
 * (RFC 6891 §6.1.2: "Any OPTION-CODE values not understood by a responder or requestor MUST be ignored").
 */
import { Name } from "./name.ts";
import { RRType, Rcode } from "./constants.ts";
import { WireError, WireReader } from "./wire/reader.ts";

/** A minimal view of a resource record, structurally the same as message.ts's `ResourceRecord`. */
export interface OptRecord {
  name: Name;
  type: number;
  class: number;
  ttl: number;
  rdata: Uint8Array;
}

export interface EdnsOption {
  code: number;
  data: Uint8Array;
}

export interface Edns {
  /** The requestor's (or responder's) UDP payload size, as sent. Use `negotiatePayloadSize` to act on it. */
  udpPayloadSize: number;
  /** The upper 8 bits of the 12-bit rcode as carried in the OPT TTL (0–255). */
  extendedRcode: number;
  /** EDNS version; this implementation speaks version 0. */
  version: number;
  /** DO: DNSSEC OK (RFC 3225). */
  dnssecOk: boolean;
  /** The 15 flag bits below DO (the Z field, RFC 6891 §6.1.4): zero on send, kept as received. */
  flags: number;
  options: EdnsOption[];
}

/** EDNS option codes (IANA "DNS EDNS0 Option Codes"), the ones a secondary is likely to meet. */
export const EdnsOptionCode = {
  NSID: 3, // RFC 5001
  DAU: 5, // RFC 6975
  DHU: 6,
  N3U: 7,
  CLIENT_SUBNET: 8, // RFC 7871
  EXPIRE: 9, // RFC 7314
  COOKIE: 10, // RFC 7873
  TCP_KEEPALIVE: 11, // RFC 7828
  PADDING: 12, // RFC 7830
  CHAIN: 13, // RFC 7901
  KEY_TAG: 14, // RFC 8145
  EXTENDED_ERROR: 15, // RFC 8914
} as const;

/**
 * Extended DNS Error INFO-CODEs (RFC 8914 §4, IANA "Extended DNS Error Codes") that Backstop sends, chosen as
 * knotd does: 20 on REFUSED for a name in none of our zones (§4.21), 24 on SERVFAIL for a zone we are
 * configured for but cannot answer from (§4.25: "its most recent zone being too old or having expired").
 */
export const ExtendedErrorCode = {
  OTHER: 0,
  NOT_AUTHORITATIVE: 20,
  INVALID_DATA: 24,
} as const;

/**
 * The EDE option (RFC 8914 §2): a 16-bit INFO-CODE and optional EXTRA-TEXT in UTF-8, not NUL-terminated.
 * @throws RangeError for an INFO-CODE outside 0–65535.
 */
export function extendedError(infoCode: number, extraText = ""): EdnsOption {
  checkRange("EDE info-code", infoCode, 0xffff);
  const text = new TextEncoder().encode(extraText);
  const data = new Uint8Array(2 + text.length);
  data[0] = infoCode >>> 8;
  data[1] = infoCode & 0xff;
  data.set(text, 2);
  return { code: EdnsOptionCode.EXTENDED_ERROR, data };
}

/** The EDE options of `edns` as `{ infoCode, extraText }` (malformed ones, shorter than 2 octets, skipped). */
export function extendedErrors(edns: Edns | undefined): { infoCode: number; extraText: string }[] {
  const out: { infoCode: number; extraText: string }[] = [];
  for (const o of edns?.options ?? []) {
    if (o.code !== EdnsOptionCode.EXTENDED_ERROR || o.data.length < 2) continue;
    out.push({ infoCode: (o.data[0]! << 8) | o.data[1]!, extraText: new TextDecoder().decode(o.data.subarray(2)) });
  }
  return out;
}

/** The version this implementation implements (RFC 6891 §6.1.3). */
export const EDNS_VERSION = 0;

/**
 * The UDP payload size Backstop offers and accepts by default: 1232 octets fit an IPv6 packet on a
 * 1280-octet path MTU without fragmentation (the DNS Flag Day 2020 figure, RFC 9715 §3.2).
 */
export const DEFAULT_UDP_PAYLOAD_SIZE = 1232;

/** RFC 6891 §6.2.3/§6.2.5: sizes below 512 are treated as 512; 512 is also the limit without EDNS. */
export const MIN_UDP_PAYLOAD_SIZE = 512;

const DO_BIT = 0x8000;

/**
 * Reads the OPT record's fields. The caller (message.ts) has already checked that it sits in the additional
 * section, that it is the only one, and that its owner is the root.
 * @throws WireError for options that overrun the rdata.
 */
export function decodeOpt(rr: OptRecord): Edns {
  const ttl = rr.ttl >>> 0;
  const options: EdnsOption[] = [];
  const r = new WireReader(rr.rdata);
  while (r.remaining > 0) {
    if (r.remaining < 4) throw new WireError("truncated", "EDNS option header cut short", r.offset);
    const code = r.u16();
    const length = r.u16();
    options.push({ code, data: r.bytes(length).slice() });
  }
  return {
    udpPayloadSize: rr.class,
    extendedRcode: ttl >>> 24,
    version: (ttl >>> 16) & 0xff,
    dnssecOk: (ttl & DO_BIT) !== 0,
    flags: ttl & 0x7fff,
    options,
  };
}

/** The OPT record for `edns`. Option data over 65535 octets in total raises RangeError. */
export function encodeOpt(edns: Edns): OptRecord {
  checkRange("udpPayloadSize", edns.udpPayloadSize, 0xffff);
  checkRange("extendedRcode", edns.extendedRcode, 0xff);
  checkRange("version", edns.version, 0xff);
  checkRange("flags", edns.flags, 0x7fff);
  let size = 0;
  for (const o of edns.options) {
    checkRange("option code", o.code, 0xffff);
    checkRange("option length", o.data.length, 0xffff);
    size += 4 + o.data.length;
  }
  if (size > 0xffff) throw new RangeError(`EDNS options of ${size} octets exceed 65535`);
  const rdata = new Uint8Array(size);
  const view = new DataView(rdata.buffer);
  let pos = 0;
  for (const o of edns.options) {
    view.setUint16(pos, o.code);
    view.setUint16(pos + 2, o.data.length);
    rdata.set(o.data, pos + 4);
    pos += 4 + o.data.length;
  }
  const ttl = ((edns.extendedRcode << 24) | (edns.version << 16) | (edns.dnssecOk ? DO_BIT : 0) | edns.flags) >>> 0;
  return { name: Name.root, type: RRType.OPT, class: edns.udpPayloadSize, ttl, rdata };
}

/** Octets the OPT record for `edns` takes in a message (root owner, fixed fields, options). */
export function optWireLength(edns: Edns): number {
  let size = 11;
  for (const o of edns.options) size += 4 + o.data.length;
  return size;
}

/** The first option with `code`, if any. */
export function findOption(edns: Edns | undefined, code: number): EdnsOption | undefined {
  return edns?.options.find((o) => o.code === code);
}

/**
 * The largest UDP response to send (RFC 6891 §6.2.5): 512 without EDNS; otherwise the requestor's size,
 * raised to 512 if smaller, and capped at what this server is willing to send (`max`, default 1232).
 */
export function negotiatePayloadSize(query: Edns | undefined, max = DEFAULT_UDP_PAYLOAD_SIZE): number {
  if (query === undefined) return MIN_UDP_PAYLOAD_SIZE;
  return Math.max(MIN_UDP_PAYLOAD_SIZE, Math.min(query.udpPayloadSize, Math.max(max, MIN_UDP_PAYLOAD_SIZE)));
}

/**
 * True when the requestor asked for an EDNS version above ours: the server must answer BADVERS with an OPT
 * of the highest version it implements and no answer (RFC 6891 §6.1.3).
 */
export function ednsVersionUnsupported(query: Edns | undefined): boolean {
  return query !== undefined && query.version > EDNS_VERSION;
}

export interface ResponseEdnsOptions {
  /** The payload size to advertise; default 1232. */
  udpPayloadSize?: number;
  /** Options to include (NSID, cookies, EDE…), chosen by the server. Unknown query options are not echoed. */
  options?: EdnsOption[];
}

/**
 * The OPT for a response to a query that carried one (RFC 6891 §7: a responder includes an OPT only when
 * the request had one). Version 0, DO copied from the query (RFC 3225 §3), Z bits zero. The extended rcode
 * is left 0 here: message.ts fills it from the message's full rcode when encoding.
 */
export function responseEdns(query: Edns, options: ResponseEdnsOptions = {}): Edns {
  return {
    udpPayloadSize: options.udpPayloadSize ?? DEFAULT_UDP_PAYLOAD_SIZE,
    extendedRcode: 0,
    version: EDNS_VERSION,
    dnssecOk: query.dnssecOk,
    flags: 0,
    options: options.options ?? [],
  };
}

/** The rcode of the BADVERS answer (RFC 6891 §6.1.3), 16: it needs the OPT's extended bits to travel. */
export const BADVERS = Rcode.BADVERS;

/**
 * Splits a 12-bit rcode into the header's 4 bits and the OPT's upper 8 bits (RFC 6891 §6.1.3).
 * @throws RangeError outside 0–4095.
 */
export function splitRcode(rcode: number): { header: number; extended: number } {
  checkRange("rcode", rcode, 0xfff);
  return { header: rcode & 0xf, extended: rcode >>> 4 };
}

/** The 12-bit rcode from the header's 4 bits and the OPT's upper 8 bits (0 without an OPT). */
export function joinRcode(header: number, extended: number): number {
  return ((extended & 0xff) << 4) | (header & 0xf);
}

function checkRange(what: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what} ${v} is outside 0–${max}`);
}
