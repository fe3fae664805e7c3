/**
 * @module Types whose rdata is a single domain name: NS, CNAME, PTR (RFC 1035 §3.3) and DNAME
 * (RFC 6672 §2.1).
 */
import { defineRdata } from "./codec.ts";
import { name } from "./field.ts";

export const ns = defineRdata("NS", { nsdname: name("name server") });
export const cname = defineRdata("CNAME", { target: name("canonical name") });
export const ptr = defineRdata("PTR", { target: name("pointer") });
export const dname = defineRdata("DNAME", { target: name("target") });
