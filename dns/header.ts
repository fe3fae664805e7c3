/**
 * @module The 12-octet DNS message header (RFC 1035 §4.1.1, with AD and CD from RFC 4035 §3.2 and the
 * reserved Z bit kept as received).
 *
 * ```
 *   0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * |                      ID                       |
 * |QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
 * |    QDCOUNT    |    ANCOUNT    |    NSCOUNT    |    ARCOUNT    |
 * ```
 *
 * Every opcode (4 bits) and every header rcode (4 bits) is carried as a number, registered or not
 * (constants.ts names the registered ones), so a server can answer NOTIMP to an opcode it does not serve
 * rather than fail to read it. The rcode here is the header's 4 bits only; the full 12-bit rcode of a
 * message with EDNS is assembled in message.ts (RFC 6891 §6.1.3).
 */
import { WireError, WireReader } from "./wire/reader.ts";
import type { WireWriter } from "./wire/writer.ts";

export const HEADER_LENGTH = 12;

export interface Flags {
  /** Response (1) or query (0). */
  qr: boolean;
  /** Authoritative answer. */
  aa: boolean;
  /** Truncated. */
  tc: boolean;
  /** Recursion desired. */
  rd: boolean;
  /** Recursion available. */
  ra: boolean;
  /** The reserved bit, must be zero on send (RFC 1035 §4.1.1), kept as received. */
  z: boolean;
  /** Authentic data (RFC 4035 §3.2.3, RFC 6840 §5.7). */
  ad: boolean;
  /** Checking disabled (RFC 4035 §3.2.2). */
  cd: boolean;
}

export interface Header {
  id: number;
  /** 0–15. */
  opcode: number;
  flags: Flags;
  /** The header's RCODE field, 0–15. */
  rcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

const QR = 0x8000, AA = 0x0400, TC = 0x0200, RD = 0x0100, RA = 0x0080, Z = 0x0040, AD = 0x0020, CD = 0x0010;

/** All flags false: a plain query's flags before RD is chosen. */
export function noFlags(): Flags {
  return { qr: false, aa: false, tc: false, rd: false, ra: false, z: false, ad: false, cd: false };
}

/** The header's second 16-bit word from its parts. */
export function packFlagsWord(opcode: number, flags: Flags, rcode: number): number {
  return (
    (flags.qr ? QR : 0) |
    ((opcode & 0xf) << 11) |
    (flags.aa ? AA : 0) |
    (flags.tc ? TC : 0) |
    (flags.rd ? RD : 0) |
    (flags.ra ? RA : 0) |
    (flags.z ? Z : 0) |
    (flags.ad ? AD : 0) |
    (flags.cd ? CD : 0) |
    (rcode & 0xf)
  );
}

/** The opcode, flags and header rcode held in the header's second 16-bit word. */
export function unpackFlagsWord(word: number): { opcode: number; flags: Flags; rcode: number } {
  return {
    opcode: (word >> 11) & 0xf,
    flags: {
      qr: (word & QR) !== 0,
      aa: (word & AA) !== 0,
      tc: (word & TC) !== 0,
      rd: (word & RD) !== 0,
      ra: (word & RA) !== 0,
      z: (word & Z) !== 0,
      ad: (word & AD) !== 0,
      cd: (word & CD) !== 0,
    },
    rcode: word & 0xf,
  };
}

/**
 * Reads the header at the reader's position.
 * @throws WireError("truncated") when fewer than 12 octets remain.
 */
export function readHeader(reader: WireReader): Header {
  if (reader.remaining < HEADER_LENGTH) {
    throw new WireError("truncated", `header needs ${HEADER_LENGTH} octets, ${reader.remaining} left`, reader.offset);
  }
  const id = reader.u16();
  const { opcode, flags, rcode } = unpackFlagsWord(reader.u16());
  return { id, opcode, flags, rcode, qdcount: reader.u16(), ancount: reader.u16(), nscount: reader.u16(), arcount: reader.u16() };
}

/**
 * Reads just the header of a message: what a server needs to answer FORMERR (id, opcode) to a message
 * whose body it cannot parse.
 */
export function decodeHeader(wire: Uint8Array): Header {
  return readHeader(new WireReader(wire));
}

/** Writes the header; counts are usually patched later with `setCounts`, once the sections are written. */
export function writeHeader(writer: WireWriter, header: Header): void {
  checkU16("id", header.id);
  checkRange("opcode", header.opcode, 15);
  checkRange("header rcode", header.rcode, 15);
  writer.u16(header.id);
  writer.u16(packFlagsWord(header.opcode, header.flags, header.rcode));
  writer.u16(header.qdcount);
  writer.u16(header.ancount);
  writer.u16(header.nscount);
  writer.u16(header.arcount);
}

/** Overwrites the four section counts of a header written at offset 0. */
export function setCounts(writer: WireWriter, qd: number, an: number, ns: number, ar: number): void {
  writer.setU16(4, qd);
  writer.setU16(6, an);
  writer.setU16(8, ns);
  writer.setU16(10, ar);
}

/** Sets or clears TC in a finished message in place (the header starts at offset 0). */
export function setTruncatedBit(wire: Uint8Array, tc: boolean): void {
  if (wire.length < HEADER_LENGTH) throw new WireError("truncated", "no header", wire.length);
  if (tc) wire[2]! |= TC >> 8;
  else wire[2]! &= ~(TC >> 8) & 0xff;
}

function checkU16(what: string, v: number): void {
  checkRange(what, v, 0xffff);
}

function checkRange(what: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what} ${v} is outside 0–${max}`);
}
