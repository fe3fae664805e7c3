/**
 * @module Text chunks from a byte stream, for `parseZone`: a Web `ReadableStream<Uint8Array>` (an upload
 * body in the Worker, a `fetch()` body, or `Readable.toWeb()` in Node), never holding the whole file.
 *
 * Zone files are octets, not necessarily UTF-8: BIND reads a raw 0xFF inside a TXT string as the octet
 * 0xFF. So every octet above 0x7F is handed on as the escape `\DDD`, which means exactly that octet
 * wherever it can legally appear (names, strings, rdata) and nothing at all inside a comment. Decoding as
 * UTF-8 instead would turn invalid sequences into U+FFFD and change data. (Columns after such an octet
 * then count the 4-character escape.) Read with a reader rather than `for await`, which not every runtime
 * offers on ReadableStream.
 */

/** One chunk of octets as text: ASCII as is, every other octet as `\DDD`. */
export function octetsToText(bytes: Uint8Array): string {
  let out = "";
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < 0x80) continue;
    out += asciiRun(bytes, start, i) + "\\" + b.toString().padStart(3, "0");
    start = i + 1;
  }
  return out + asciiRun(bytes, start, bytes.length);
}

function asciiRun(bytes: Uint8Array, from: number, to: number): string {
  let out = "";
  // Slices keep fromCharCode's argument list short.
  for (let i = from; i < to; i += 0x2000) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(to, i + 0x2000)) as unknown as number[]);
  }
  return out;
}

export async function* textChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.length > 0) yield octetsToText(value);
    }
  } finally {
    reader.releaseLock();
  }
}
