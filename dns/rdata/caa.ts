/**
 * @module CAA (RFC 8659 §4.1): flags, a tag of 1–15 ASCII letters and digits (length-prefixed on the
 * wire), and a value that runs to the end of the rdata. Presentation: `0 issue "ca.example"`, the tag
 * bare and the value one quoted string.
 */
import { defineRdata } from "./codec.ts";
import { textToEnd, u8, type Field } from "./field.ts";
import { fieldError } from "./token.ts";
import { WireError } from "../wire/reader.ts";

const TAG = /^[A-Za-z0-9]{1,15}$/;

const tag: Field<string> = {
  read: (r) => {
    const at = r.offset;
    const bytes = r.characterString();
    const text = String.fromCharCode(...bytes);
    // A tag outside RFC 8659's alphabet cannot be written bare; the registry then falls back to `\#`.
    if (!TAG.test(text)) throw new WireError("inconsistent", "CAA tag is not 1-15 letters and digits", at);
    return text;
  },
  write: (w, v) => w.characterString(Uint8Array.from(v, (c) => c.charCodeAt(0))),
  print: (v) => v,
  parse: (c) => {
    const token = c.next("tag");
    if (token.quoted || !TAG.test(token.text)) throw fieldError("bad-text", token, `CAA tag "${token.text}" is not 1-15 letters and digits`);
    return token.text;
  },
};

export const caa = defineRdata("CAA", { flags: u8("flags"), tag, value: textToEnd("value") });
