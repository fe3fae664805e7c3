/**
 * @module Bulk bytes (block data, ingest runs) are stored in D1 as base64 TEXT, not as BLOBs.
 *
 * Why: the D1 binding carries statements and results as JSON, and a BLOB travels as an array of numbers
 * (workerd's d1-api and miniflare's local D1 both `Array.from` the bytes), some 3.5 JSON characters and
 * one boxed number per octet. Measured in workerd against local D1 (2-core machine, others busy): 8 MB
 * of 32 KB rows wrote at 3.6 MB/s and read back at ~8 MB/s as BLOBs, 21.6 MB/s and ~54 MB/s as base64
 * text. Base64 adds a third to the size (a 32 KB block is ~43 KB of text, still well inside D1's
 * 100 KB per statement) and workerd's native `Uint8Array.prototype.toBase64`/`fromBase64` cost almost
 * nothing. Small BLOBs (sort keys) stay BLOBs: they are indexed and compared with memcmp.
 *
 * Reading accepts either form, so a row written as a BLOB before this change still decodes.
 */
import { fromBase64, toBase64 } from "../../dns/rdata/base64.ts";

/** The native codecs of recent V8 (workerd has them; TypeScript's lib does not know them yet). */
interface NativeBase64 {
  toBase64?: (this: Uint8Array) => string;
}
const nativeTo = (Uint8Array.prototype as NativeBase64).toBase64;
const nativeFrom = (Uint8Array as unknown as { fromBase64?: (text: string) => Uint8Array }).fromBase64;

/** Bytes as base64 text. */
export function bytesToText(bytes: Uint8Array): string {
  return nativeTo ? nativeTo.call(bytes) : toBase64(bytes);
}

/**
 * Largest byte count stored as text: its base64 (4/3 as long) plus SQL and keys stays under D1's 100 KB
 * per statement. A bigger value (one huge owner, up to `NODE_MAX_BYTES`) is stored as a BLOB.
 */
export const MAX_TEXT_BYTES = 72 * 1024;

/** Bytes as bound into a statement: base64 text when it fits, else the BLOB itself. */
export function storedBytes(bytes: Uint8Array): string | Uint8Array {
  return bytes.length <= MAX_TEXT_BYTES ? bytesToText(bytes) : bytes;
}

export class StoredBytesError extends Error {
  override readonly name = "StoredBytesError";
}

/** A stored value back to bytes: base64 text, or a BLOB as D1 hands it back (ArrayBuffer or numbers). */
export function textToBytes(value: string | ArrayBuffer | ArrayBufferView | number[]): Uint8Array {
  if (typeof value === "string") {
    let bytes: Uint8Array | undefined;
    try {
      bytes = nativeFrom ? nativeFrom(value) : fromBase64(value);
    } catch {
      bytes = undefined;
    }
    if (!bytes) throw new StoredBytesError("stored data is not base64");
    return bytes;
  }
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return Uint8Array.from(value);
}
