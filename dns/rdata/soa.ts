/** @module SOA (RFC 1035 §3.3.13). The serial is carried as given; only dns/serial.ts compares serials. */
import { defineRdata } from "./codec.ts";
import { duration, name, u32 } from "./field.ts";
import { RdataError } from "./rdata-error.ts";

export const soa = defineRdata("SOA", {
  mname: name("primary name server"),
  rname: name("responsible mailbox"),
  serial: u32("serial"),
  refresh: duration("refresh"),
  retry: duration("retry"),
  expire: duration("expire"),
  minimum: duration("minimum"),
});
export type SoaValue = ReturnType<typeof soa.decode>;

/** SOA rdata ends with five 32-bit fields, SERIAL REFRESH RETRY EXPIRE MINIMUM: the serial is 20 octets from the end. */
const SERIAL_FROM_END = 20;

function checkSerialRoom(rdata: Uint8Array): void {
  if (rdata.length < SERIAL_FROM_END) {
    throw new RdataError("bad-wire", `SOA: rdata of ${rdata.length} octets is too short to hold a serial`);
  }
}

/**
 * The serial of SOA rdata (uncompressed wire form), read from the fixed fields at its end without
 * decoding the two names before them.
 * @throws RdataError when the rdata is shorter than the five fixed fields.
 */
export function soaSerial(rdata: Uint8Array): number {
  checkSerialRoom(rdata);
  return new DataView(rdata.buffer, rdata.byteOffset, rdata.byteLength).getUint32(rdata.length - SERIAL_FROM_END);
}

/**
 * The MINIMUM field of SOA rdata, its last 32 bits (RFC 1035 §3.3.13; the negative-caching TTL of RFC 2308 §4),
 * read without decoding the names.
 * @throws RdataError when the rdata is shorter than the five fixed fields.
 */
export function soaMinimum(rdata: Uint8Array): number {
  checkSerialRoom(rdata);
  return new DataView(rdata.buffer, rdata.byteOffset, rdata.byteLength).getUint32(rdata.length - 4);
}

/**
 * The EXPIRE field of SOA rdata (RFC 1035 §3.3.13), 8 octets from the end, read without decoding the names:
 * what a primary answers in the EDNS EXPIRE option (RFC 7314 §3.1).
 * @throws RdataError when the rdata is shorter than the five fixed fields.
 */
export function soaExpire(rdata: Uint8Array): number {
  checkSerialRoom(rdata);
  return new DataView(rdata.buffer, rdata.byteOffset, rdata.byteLength).getUint32(rdata.length - 8);
}

/**
 * A copy of SOA rdata with its serial replaced (modulo 2^32) and every other octet unchanged, such as the
 * SOA a secondary sends as "our version" in an IXFR request (RFC 1995 §3).
 * @throws RdataError when the rdata is shorter than the five fixed fields.
 */
export function withSoaSerial(rdata: Uint8Array, serial: number): Uint8Array {
  checkSerialRoom(rdata);
  const out = rdata.slice();
  new DataView(out.buffer).setUint32(out.length - SERIAL_FROM_END, serial);
  return out;
}
