/**
 * @module The TSIG resource record (RFC 8945 §4.2): finding it in a raw message, reading and writing it,
 * and the message as the MAC sees it.
 *
 * TSIG works on the bytes as they travelled, not on a decoded message: the MAC covers the exact octets,
 * compression included, so this module walks the header counts and sections with `skipName` to find the
 * record, and never re-encodes the rest.
 */
import { RRClass, RRType } from "../constants.ts";
import type { Name } from "../name.ts";
import { WireError, WireReader } from "../wire/reader.ts";
import type { WireWriter } from "../wire/writer.ts";
import { TsigError } from "./errors.ts";

export const HEADER_LENGTH = 12;

export interface TsigRecord {
  /** Owner name: the key name. */
  keyName: Name;
  algorithmName: Name;
  /** Seconds since the epoch (48 bits on the wire). */
  timeSigned: number;
  fudge: number;
  mac: Uint8Array;
  /** The message ID when the message was signed (forwarders may change the header's). */
  originalId: number;
  /** TSIG error (RFC 8945 §3): 0, BADSIG, BADKEY, BADTIME, BADTRUNC… */
  error: number;
  otherData: Uint8Array;
}

export interface LocatedTsig {
  record: TsigRecord;
  /** Offset of the TSIG RR's owner name: the message without TSIG is `message.subarray(0, offset)`. */
  offset: number;
}

function malformed(message: string): TsigError {
  return new TsigError("malformed", message);
}

/**
 * Finds the TSIG record, which RFC 8945 §5.1 requires to be the last record of the additional section
 * and the only one. Returns undefined when the message has none.
 * @throws TsigError("malformed") for a truncated message, a TSIG record elsewhere, a second one, bad
 * CLASS/TTL, or octets after the last record.
 */
export function findTsig(message: Uint8Array): LocatedTsig | undefined {
  try {
    return locate(message);
  } catch (err) {
    if (err instanceof WireError) throw malformed(`message unreadable while looking for TSIG: ${err.message}`);
    throw err;
  }
}

function locate(message: Uint8Array): LocatedTsig | undefined {
  const r = new WireReader(message);
  if (message.length < HEADER_LENGTH) throw new WireError("truncated", "message shorter than its header", 0);
  r.offset = 4;
  const qd = r.u16(), an = r.u16(), ns = r.u16(), ar = r.u16();
  for (let i = 0; i < qd; i++) {
    r.skipName();
    r.bytes(4);
  }
  const total = an + ns + ar;
  let found: LocatedTsig | undefined;
  for (let i = 0; i < total; i++) {
    const start = r.offset;
    r.skipName();
    const type = r.u16();
    const cls = r.u16();
    const ttl = r.u32();
    const rdlength = r.u16();
    const rdataStart = r.offset;
    r.bytes(rdlength);
    if (type !== RRType.TSIG) continue;
    if (i !== total - 1 || i < an + ns) {
      throw malformed("TSIG record is not the last record of the additional section (RFC 8945 §5.1)");
    }
    if (cls !== RRClass.ANY || ttl !== 0) {
      throw malformed(`TSIG record with class ${cls} and TTL ${ttl}; RFC 8945 §4.2 requires ANY and 0`);
    }
    const owner = new WireReader(message, start).name();
    found = { record: readRdata(message, owner, rdataStart, rdataStart + rdlength), offset: start };
  }
  if (r.offset !== message.length) {
    throw malformed(`${message.length - r.offset} octet(s) after the last record`);
  }
  return found;
}

/**
 * Reads the TSIG record at `offset`, where a message decoder already found it, without walking the
 * sections again (a 64 KiB AXFR message holds thousands of records). The record must be a TSIG RR that
 * ends exactly at the end of the message, so every octet before it is covered by the MAC.
 * @throws TsigError("malformed") otherwise.
 */
export function readTsigAt(message: Uint8Array, offset: number): LocatedTsig {
  try {
    if (message.length < HEADER_LENGTH || ((message[10]! << 8) | message[11]!) === 0) {
      throw malformed("a TSIG offset was given for a message without additional records");
    }
    const r = new WireReader(message, offset);
    const owner = r.name();
    const type = r.u16(), cls = r.u16(), ttl = r.u32(), rdlength = r.u16();
    if (type !== RRType.TSIG) throw malformed(`the record at octet ${offset} is type ${type}, not TSIG`);
    if (cls !== RRClass.ANY || ttl !== 0) {
      throw malformed(`TSIG record with class ${cls} and TTL ${ttl}; RFC 8945 §4.2 requires ANY and 0`);
    }
    if (r.offset + rdlength !== message.length) throw malformed("the TSIG record does not end the message");
    return { record: readRdata(message, owner, r.offset, message.length), offset };
  } catch (err) {
    if (err instanceof WireError) throw malformed(`TSIG record unreadable: ${err.message}`);
    throw err;
  }
}

function readRdata(message: Uint8Array, keyName: Name, start: number, end: number): TsigRecord {
  const r = new WireReader(message, start, end);
  const algorithmName = r.name();
  const timeSigned = r.u16() * 2 ** 32 + r.u32();
  const fudge = r.u16();
  const mac = r.bytes(r.u16()).slice();
  const originalId = r.u16();
  const error = r.u16();
  const otherData = r.bytes(r.u16()).slice();
  r.expectEnd("TSIG RDATA");
  return { keyName, algorithmName, timeSigned, fudge, mac, originalId, error, otherData };
}

/**
 * The message as the MAC covers it (RFC 8945 §4.3.1): everything before the TSIG record, with ARCOUNT
 * decremented and the header ID set back to the Original ID. Returned as two parts, the rewritten header
 * and a view of the rest, so a 64 KiB message is not copied.
 */
export function unsignedParts(message: Uint8Array, located: LocatedTsig): [Uint8Array, Uint8Array] {
  const header = message.slice(0, HEADER_LENGTH);
  const view = new DataView(header.buffer);
  view.setUint16(0, located.record.originalId);
  view.setUint16(10, view.getUint16(10) - 1);
  return [header, message.subarray(HEADER_LENGTH, located.offset)];
}

/** Writes a whole TSIG RR (owner, type, class ANY, TTL 0, RDATA). Names are never compressed (§4.2). */
export function writeTsigRecord(w: WireWriter, rec: TsigRecord): void {
  w.name(rec.keyName, false);
  w.u16(RRType.TSIG);
  w.u16(RRClass.ANY);
  w.u32(0);
  const lengthAt = w.mark();
  w.u16(0);
  w.name(rec.algorithmName, false);
  writeTime(w, rec.timeSigned);
  w.u16(rec.fudge);
  w.u16(rec.mac.length);
  w.bytes(rec.mac);
  w.u16(rec.originalId);
  w.u16(rec.error);
  w.u16(rec.otherData.length);
  w.bytes(rec.otherData);
  w.setU16(lengthAt, w.length - lengthAt - 2);
}

/** 48-bit Time Signed: high 16 bits, then low 32. */
export function writeTime(w: WireWriter, seconds: number): void {
  w.u16(Math.floor(seconds / 2 ** 32) & 0xffff);
  w.u32(seconds % 2 ** 32);
}

/** Six octets of a 48-bit time, as BADTIME's Other Data carries the server's clock (RFC 8945 §5.2.3). */
export function timeBytes(seconds: number): Uint8Array {
  const out = new Uint8Array(6);
  const view = new DataView(out.buffer);
  view.setUint16(0, Math.floor(seconds / 2 ** 32) & 0xffff);
  view.setUint32(2, seconds % 2 ** 32);
  return out;
}

/** Reads a 48-bit time from six octets, or undefined when `bytes` is not six long. */
export function readTimeBytes(bytes: Uint8Array): number | undefined {
  if (bytes.length !== 6) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, 6);
  return view.getUint16(0) * 2 ** 32 + view.getUint32(2);
}
