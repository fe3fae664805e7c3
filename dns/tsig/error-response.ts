/**
 * @module The answer a server sends when a signed request fails its TSIG checks (RFC 8945 §5.2, §5.3.2).
 *
 * - BADKEY, BADSIG: RCODE NOTAUTH, a TSIG record with the error and an empty MAC: unsigned, because the
 *   server cannot (or must not) prove anything with a key the client may not share.
 * - BADTIME: RCODE NOTAUTH, signed with the request's key over the request MAC; Time Signed repeats the
 *   request's and Other Data carries the server's clock (6 octets), so the client can see the skew.
 * - BADTRUNC: RCODE NOTAUTH, signed.
 * - FORMERR (unreadable TSIG, forbidden MAC size): RCODE FORMERR and no TSIG record.
 *
 * The response repeats the request's header ID, opcode, RD bit and question section.
 */
import { Rcode } from "../constants.ts";
import { WireReader } from "../wire/reader.ts";
import { WireWriter } from "../wire/writer.ts";
import { macPrefix } from "./digest.ts";
import type { TsigError } from "./errors.ts";
import type { TsigKey } from "./key.ts";
import type { TsigRecord } from "./record.ts";
import { HEADER_LENGTH, findTsig, timeBytes, writeTsigRecord } from "./record.ts";
import { appendTsig } from "./sign.ts";
import type { Clock } from "./time.ts";
import { DEFAULT_FUDGE, nowSeconds } from "./time.ts";

/** Header and question of the request, as a response with no records. */
function responseSkeleton(request: Uint8Array, rcode: number): Uint8Array | undefined {
  if (request.length < HEADER_LENGTH) return undefined;
  const r = new WireReader(request, 4);
  const qd = r.u16();
  r.offset = HEADER_LENGTH;
  try {
    for (let i = 0; i < qd; i++) {
      r.skipName();
      r.bytes(4);
    }
  } catch {
    return undefined;
  }
  const out = request.slice(0, r.offset);
  out[2] = 0x80 | (request[2]! & 0x79); // QR, the request's opcode and RD; AA and TC clear
  out[3] = rcode & 0x0f;
  out.fill(0, 6, 12); // AN, NS, AR
  return out;
}

/**
 * Builds the response to a request that failed with `error` (from `verifyRequest`). `key` is the
 * request's key, needed for the signed answers (BADTIME, BADTRUNC); without it they go unsigned.
 * Returns undefined when the request is too broken to answer at all (shorter than a header).
 */
export async function tsigErrorResponse(
  request: Uint8Array,
  error: TsigError,
  opts: { key?: TsigKey; now?: Clock } = {},
): Promise<Uint8Array | undefined> {
  let requestTsig: TsigRecord | undefined;
  try {
    requestTsig = findTsig(request)?.record;
  } catch {
    requestTsig = undefined;
  }
  const code = error.tsigError;
  if (code === Rcode.FORMERR || requestTsig === undefined) return responseSkeleton(request, Rcode.FORMERR);
  const skeleton = responseSkeleton(request, Rcode.NOTAUTH);
  if (skeleton === undefined) return undefined;
  const now = nowSeconds(opts.now);
  const key = opts.key;
  if ((code === Rcode.BADTIME || code === Rcode.BADTRUNC) && key !== undefined) {
    const signed = await appendTsig(
      skeleton,
      key,
      {
        keyName: requestTsig.keyName,
        timeSigned: code === Rcode.BADTIME ? requestTsig.timeSigned : now,
        fudge: requestTsig.fudge || DEFAULT_FUDGE,
        error: code,
        otherData: code === Rcode.BADTIME ? timeBytes(now) : new Uint8Array(0),
      },
      { before: [macPrefix(requestTsig.mac)], timersOnly: false, macSize: key.hmac.size },
    );
    return signed.message;
  }
  // Unsigned: echo the request's key and algorithm names so the client can match the answer.
  const w = new WireWriter({ initialCapacity: skeleton.length + 128 });
  w.bytes(skeleton);
  w.setU16(10, 1);
  writeTsigRecord(w, {
    keyName: requestTsig.keyName,
    algorithmName: requestTsig.algorithmName,
    timeSigned: now,
    fudge: requestTsig.fudge,
    mac: new Uint8Array(0),
    originalId: requestTsig.originalId,
    error: code,
    otherData: code === Rcode.BADTIME ? timeBytes(now) : new Uint8Array(0),
  });
  return w.finish();
}
