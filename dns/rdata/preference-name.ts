/**
 * @module A 16-bit number then a domain name: MX (RFC 1035 §3.3.9), AFSDB (RFC 1183 §1, subtype),
 * RT (RFC 1183 §3.3) and KX (RFC 2230 §3.1).
 */
import { defineRdata } from "./codec.ts";
import { name, u16 } from "./field.ts";

export const mx = defineRdata("MX", { preference: u16("preference"), exchange: name("exchange") });
export const afsdb = defineRdata("AFSDB", { subtype: u16("subtype"), hostname: name("hostname") });
export const rt = defineRdata("RT", { preference: u16("preference"), host: name("intermediate host") });
export const kx = defineRdata("KX", { preference: u16("preference"), exchanger: name("exchanger") });
