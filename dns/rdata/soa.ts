/** @module SOA (RFC 1035 §3.3.13). The serial is carried as given; only dns/serial.ts compares serials. */
import { defineRdata } from "./codec.ts";
import { duration, name, u32 } from "./field.ts";

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
