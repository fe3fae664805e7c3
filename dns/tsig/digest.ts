/**
 * @module What a TSIG MAC covers (RFC 8945 §4.3), and the constant-time comparison of MACs.
 *
 * - request: DNS message + TSIG variables;
 * - response: request MAC (length-prefixed) + DNS message + TSIG variables;
 * - later messages of a TCP stream (§4.3.1, §5.3.1): prior MAC (length-prefixed) + every unsigned message
 *   since + this message + the timers only (Time Signed, Fudge).
 *
 * "DNS message" is the message without its TSIG record, ARCOUNT decremented and the Original ID in the
 * header (see `unsignedParts`). The variables use the key and algorithm names in canonical (lowercase,
 * uncompressed) form, so a peer that writes `HMAC-SHA256.` or a capitalised key name still verifies.
 */
import { RRClass } from "../constants.ts";
import { WireWriter } from "../wire/writer.ts";
import type { TsigRecord } from "./record.ts";
import { writeTime } from "./record.ts";

/** RFC 8945 §4.3.3: the TSIG variables, full or timers only. */
export function tsigVariables(rec: TsigRecord, timersOnly: boolean): Uint8Array {
  const w = new WireWriter({ initialCapacity: 64 });
  if (!timersOnly) {
    w.name(rec.keyName, false, true);
    w.u16(RRClass.ANY);
    w.u32(0);
    w.name(rec.algorithmName, false, true);
  }
  writeTime(w, rec.timeSigned);
  w.u16(rec.fudge);
  if (!timersOnly) {
    w.u16(rec.error);
    w.u16(rec.otherData.length);
    w.bytes(rec.otherData);
  }
  return w.finish();
}

/** A prior MAC as it enters the next digest: two octets of length, then the MAC (§4.3.2). */
export function macPrefix(mac: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + mac.length);
  out[0] = mac.length >> 8;
  out[1] = mac.length & 0xff;
  out.set(mac, 2);
  return out;
}

/**
 * Compares a received MAC with the first `received.length` octets of the computed one, in time that
 * does not depend on where they differ.
 */
export function macMatches(computed: Uint8Array, received: Uint8Array): boolean {
  if (received.length === 0 || received.length > computed.length) return false;
  let diff = 0;
  for (let i = 0; i < received.length; i++) diff |= computed[i]! ^ received[i]!;
  return diff === 0;
}
