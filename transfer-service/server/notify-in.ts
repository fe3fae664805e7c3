/**
 * @module The NOTIFY receiver (RFC 1996), fed by the DNS listener through dns-dispatch.ts.
 *
 * 1. The question must be one SOA question (RFC 1996 §3.7); anything else is FORMERR.
 * 2. The zone must be one we serve as a secondary; otherwise NOTAUTH (as BIND and Knot answer).
 * 3. TSIG, when present, is verified with the zone's keys (its own key and its primaries' keys); a
 *    failure gets the RFC 8945 error answer (NOTAUTH with BADKEY/BADSIG unsigned, BADTIME signed).
 * 4. notify-acl.ts decides: a verified signature, a primary's address, or a `notifyAllow` prefix; an
 *    unsigned NOTIFY from anywhere else is REFUSED.
 * 5. Accepted: the zone's refresh timer counts as expired (RFC 1996 §3.11); the SOA in the answer section,
 *    if any, is only a hint (§3.7), logged and passed on, never trusted as the primary's serial.
 *    The reply has the same ID, QR=1, opcode NOTIFY, AA, the question, and a TSIG signature when the
 *    NOTIFY was signed (RFC 8945 §5.3).
 */
import { Rcode, RRType } from "../../dns/constants.ts";
import { encodeMessage, type Message } from "../../dns/message.ts";
import { RdataError } from "../../dns/rdata/rdata-error.ts";
import { soaSerial } from "../../dns/rdata/soa.ts";
import { TsigError } from "../../dns/tsig/errors.ts";
import { tsigErrorResponse } from "../../dns/tsig/error-response.ts";
import { signResponse } from "../../dns/tsig/sign.ts";
import type { Clock } from "../../dns/tsig/time.ts";
import { verifyRequest } from "../../dns/tsig/verify.ts";
import type { RequestContext } from "./request-context.ts";
import type { NotifyReceiver } from "./dns-dispatch.ts";
import type { Logger } from "../ops/log.ts";
import type { Metrics } from "../ops/metrics.ts";
import { decideNotify, type TsigOutcome } from "../zones/notify-acl.ts";
import type { NotifyZones } from "../zones/zone-set.ts";
import { replyTo } from "./reply.ts";

export interface NotifyReceiverOptions {
  zones: NotifyZones;
  log: Logger;
  metrics?: Metrics;
  /** The clock TSIG checks use (tests inject a skewed one). */
  now?: Clock;
}

/** The SOA serial in a NOTIFY's answer section (RFC 1996 §3.7), if present and readable. */
export function serialHint(query: Message): number | undefined {
  const soa = query.answers.find((rr) => rr.type === RRType.SOA);
  if (!soa) return undefined;
  try {
    return soaSerial(soa.rdata);
  } catch (err) {
    if (err instanceof RdataError) return undefined;
    throw err;
  }
}

export function createNotifyReceiver(options: NotifyReceiverOptions): NotifyReceiver {
  const { zones, log, metrics } = options;
  const encode = (reply: Message): Uint8Array => encodeMessage(reply).wire;

  return async (query: Message, wire: Uint8Array, ctx: RequestContext): Promise<Uint8Array> => {
    const question = query.questions[0]!;
    const source = ctx.remoteAddress;
    const result = (r: string): void => metrics?.notifies.inc({ result: r });
    if (question.type !== RRType.SOA) {
      result("formerr");
      return encode(replyTo(query, Rcode.FORMERR));
    }
    const zone = zones.find(question.name);
    if (!zone) {
      result("notzone");
      log.info({ zone: question.name.toString(), source }, "NOTIFY for a zone not served here");
      return encode(replyTo(query, Rcode.NOTAUTH));
    }

    let tsig: TsigOutcome = { kind: "unsigned" };
    let verified: Awaited<ReturnType<typeof verifyRequest>>;
    try {
      verified = await verifyRequest(wire, zone.keys, { now: options.now, peer: `the NOTIFY sender ${source}` });
      if (verified) tsig = { kind: "verified" };
    } catch (err) {
      if (!(err instanceof TsigError)) throw err;
      // RFC 8945 §5.2: a failed signature is NOTAUTH whatever the address (notify-acl.ts, rule 1).
      result("notauth");
      log.warn({ zone: question.name.toString(), source, reason: err.message }, "NOTIFY failed its TSIG check");
      const keyName = err.details.keyName;
      const key = keyName === undefined ? undefined : zone.keys.find((k) => k.name.toString() === keyName);
      const answer = await tsigErrorResponse(wire, err, { key, now: options.now });
      return answer ?? encode(replyTo(query, Rcode.NOTAUTH));
    }

    const decision = decideNotify(zone.acl, source, tsig);
    if (!decision.accept) {
      result(decision.rcode === "REFUSED" ? "refused" : "notauth");
      log.warn({ zone: question.name.toString(), source, reason: decision.reason }, "NOTIFY refused");
      return encode(replyTo(query, decision.rcode === "REFUSED" ? Rcode.REFUSED : Rcode.NOTAUTH));
    }

    const hint = serialHint(query);
    result("accepted");
    log.info({ zone: question.name.toString(), source, by: decision.by, serialHint: hint }, "NOTIFY accepted");
    zone.notified(source, hint);
    const reply = encode(replyTo(query, Rcode.NOERROR, { aa: true }));
    // Signed with the request's own key-name spelling: dig and kdig reject a reply that respells it.
    return verified ? signResponse(reply, verified, { now: options.now }) : reply;
  };
}
