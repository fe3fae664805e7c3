/**
 * @module Service location records: SRV (RFC 2782), NAPTR (RFC 3403 §4.1) and URI (RFC 7553 §4.5, whose
 * target runs to the end of the rdata with no length octet, printed as one quoted string).
 */
import { defineRdata } from "./codec.ts";
import { characterString, name, textToEnd, u16 } from "./field.ts";

export const srv = defineRdata("SRV", {
  priority: u16("priority"),
  weight: u16("weight"),
  port: u16("port"),
  target: name("target"),
});

export const naptr = defineRdata("NAPTR", {
  order: u16("order"),
  preference: u16("preference"),
  flags: characterString("flags"),
  services: characterString("services"),
  regexp: characterString("regexp"),
  replacement: name("replacement"),
});

export const uri = defineRdata("URI", { priority: u16("priority"), weight: u16("weight"), target: textToEnd("target") });
