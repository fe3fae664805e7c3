/**
 * @module Types made of two domain names: RP (RFC 1183 §2.2), MINFO (RFC 1035 §3.3.7), and PX
 * (RFC 2163 §4), which puts a preference before them.
 */
import { defineRdata } from "./codec.ts";
import { name, u16 } from "./field.ts";

export const rp = defineRdata("RP", { mbox: name("mailbox"), txt: name("TXT name") });
export const minfo = defineRdata("MINFO", { rmailbx: name("responsible mailbox"), emailbx: name("error mailbox") });
export const px = defineRdata("PX", { preference: u16("preference"), map822: name("MAP822"), mapx400: name("MAPX400") });
