/**
 * @module Types made of character-strings: TXT (RFC 1035 §3.3.14), SPF (RFC 7208 §3.1, same format) and
 * HINFO (RFC 1035 §3.3.2: exactly two). Strings are octets, not text: any byte survives.
 */
import { defineRdata } from "./codec.ts";
import { characterString, characterStrings } from "./field.ts";

export const txt = defineRdata("TXT", { strings: characterStrings("text") });
export const spf = defineRdata("SPF", { strings: characterStrings("text") });
export const hinfo = defineRdata("HINFO", { cpu: characterString("CPU"), os: characterString("OS") });
