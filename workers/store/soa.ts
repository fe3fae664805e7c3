/**
 * @module Reading the SOA fields the store needs (RFC 1035 §3.3.13) from uncompressed rdata:
 * MNAME, RNAME, then SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM as 32-bit integers.
 */
import { WireReader } from "../../dns/wire/reader.ts";

export interface SoaTimers {
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

/** @throws WireError for rdata that is not an uncompressed SOA. */
export function readSoa(rdata: Uint8Array): SoaTimers {
  const r = new WireReader(rdata);
  r.name();
  r.name();
  const soa = { serial: r.u32(), refresh: r.u32(), retry: r.u32(), expire: r.u32(), minimum: r.u32() };
  r.expectEnd("SOA rdata");
  return soa;
}
