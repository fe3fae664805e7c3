/** @module A (RFC 1035 §3.4.1) and AAAA (RFC 3596 §2.2): one address, fixed length. */
import { defineRdata } from "./codec.ts";
import { ipv4, ipv6 } from "./field.ts";

export const a = defineRdata("A", { address: ipv4("address") });
export const aaaa = defineRdata("AAAA", { address: ipv6("address") });
