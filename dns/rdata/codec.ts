/**
 * @module The shape every rdata codec has (dns-packet style: the same functions for every type) and a
 * builder that makes a codec from a list of named fields.
 *
 * `decode` takes the UNCOMPRESSED rdata bytes of one record (the message decoder expands compressed
 * names first) and throws `RdataError` on anything malformed; `encode` gives those bytes back.
 */
import type { Name } from "../name.ts";
import { WireError, WireReader } from "../wire/reader.ts";
import { WireWriter } from "../wire/writer.ts";
import type { Field } from "./field.ts";
import { RdataError } from "./rdata-error.ts";
import { TokenCursor, type Token } from "./token.ts";

export interface RdataCodec<V> {
  decode(rdata: Uint8Array): V;
  encode(value: V): Uint8Array;
  toText(value: V): string;
  fromText(tokens: readonly Token[], origin: Name): V;
}

type FieldValues<F> = { [K in keyof F]: F[K] extends Field<infer T> ? T : never };

/** Runs a wire decoder, turning every failure into an `RdataError`. */
export function decodeWith<V>(rdata: Uint8Array, what: string, read: (r: WireReader) => V): V {
  const r = new WireReader(rdata);
  try {
    const value = read(r);
    r.expectEnd(what);
    return value;
  } catch (err) {
    if (err instanceof WireError) throw new RdataError("bad-wire", `${what}: ${err.message}`);
    if (err instanceof RdataError) throw err;
    if (err instanceof Error && err.name === "NameError") throw new RdataError("bad-wire", `${what}: ${err.message}`);
    throw err;
  }
}

/**
 * One writer for every encode, emptied before each use: encoding runs once per record when loading or
 * printing a zone, and a fresh buffer each time was a large share of the garbage. Safe because encoders
 * never call `encodeWith` from inside one another and JavaScript runs them one at a time.
 */
const shared = new WireWriter({ maxSize: 65535, initialCapacity: 1024 });

export function encodeWith(write: (w: WireWriter) => void): Uint8Array {
  shared.rollback(0);
  try {
    write(shared);
  } catch (err) {
    shared.rollback(0);
    if (err instanceof Error && err.name === "WireOverflow") throw new RdataError("too-long", "rdata exceeds 65535 octets");
    throw err;
  }
  return shared.finish();
}

/** Builds a codec whose value is an object with one property per field, in wire order. */
export function defineRdata<F extends Record<string, Field<unknown>>>(what: string, fields: F): RdataCodec<FieldValues<F>> {
  const entries = Object.entries(fields) as Array<[keyof F & string, Field<unknown>]>;
  return {
    decode: (rdata) =>
      decodeWith(rdata, what, (r) => {
        const value = {} as Record<string, unknown>;
        for (const [key, field] of entries) value[key] = field.read(r);
        return value as FieldValues<F>;
      }),
    encode: (value) =>
      encodeWith((w) => {
        for (const [key, field] of entries) field.write(w, value[key]);
      }),
    toText: (value) =>
      entries
        .map(([key, field]) => field.print(value[key]))
        .filter((s) => s !== "")
        .join(" "),
    fromText: (tokens, origin) => {
      const c = new TokenCursor(tokens);
      const value = {} as Record<string, unknown>;
      for (const [key, field] of entries) value[key] = field.parse(c, origin);
      c.expectEnd();
      return value as FieldValues<F>;
    },
  };
}
