/**
 * @module Serving a stored answer to a new asker, shared by the Worker's answer cache
 * (answer/answer-cache.ts) and the port-53 front's response cache
 * (transfer-service/response-cache.ts).
 *
 * Both caches key an answer by its question name folded to lower case (RFC 4343 §3: only A–Z fold), so a
 * stored answer carries the first asker's spelling of a name equal to this asker's ignoring case, and of the
 * same length. Its names that spell the question do so through compression pointers into the question
 * (RFC 1035 §4.1.4), so writing this query's ID and question-name octets over the stored ones makes the
 * answer this query's own; 0x20-randomising resolvers (RFC 4343 is silent, draft-vixie-dnsext-dns0x20)
 * see their own case.
 */
import { HEADER_LENGTH } from "../header.ts";

/**
 * A copy of `stored` with `query`'s ID and its question-name octets (from the header to `qnameEnd`, the
 * offset just past the name) written in. Hot path: a plain loop, no view object per call. `into` gives the
 * array to copy into (the port-53 front passes a `Slab`'s, `slab.ts`); a fresh array by default.
 */
export function answerForAsker(stored: Uint8Array, query: Uint8Array, qnameEnd: number, into?: (length: number) => Uint8Array): Uint8Array {
  let out: Uint8Array;
  if (into === undefined) out = stored.slice();
  else {
    out = into(stored.length);
    out.set(stored);
  }
  out[0] = query[0]!;
  out[1] = query[1]!;
  for (let i = HEADER_LENGTH; i < qnameEnd; i++) out[i] = query[i]!;
  return out;
}
