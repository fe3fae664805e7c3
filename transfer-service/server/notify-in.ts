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
 *
 * Rejections (REFUSED, NOTAUTH, a zone not served here) are logged at most once per source per window
 * (`RejectionLog`, 10 s by default): a flood of bad NOTIFYs must not fill the log. What a window held back
 * is logged as one line, "N more rejected NOTIFYs from X suppressed", when the window ends. The metric
 * `backstop_notify_total` still counts every one.
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
import { LRUCache } from "lru-cache";

export interface NotifyReceiverOptions {
  zones: NotifyZones;
  log: Logger;
  metrics?: Metrics;
  /** The clock TSIG checks use (tests inject a skewed one). */
  now?: Clock;
  /** How rejected NOTIFYs are logged (default: one line per source per 10 s). */
  rejections?: RejectionLog;
}

/** One source's window in the rejection log. */
interface SourceWindow {
  startedAt: number;
  suppressed: number;
}

export interface RejectionLogOptions {
  log: Logger;
  /** One line per source per window; default 10 s. */
  windowMs?: number;
  /** Sources tracked at once (least recently seen dropped first, its count logged); default 10,000. */
  maxSources?: number;
  /** Milliseconds clock; tests inject a fake one. */
  now?: () => number;
}

/**
 * Rejected-NOTIFY log lines, at most one per source per window. The first rejection from a source is
 * logged in full; the rest of its window is only counted, and the count is logged once the window is over
 * (by a sweep every window, or at the source's next rejection, whichever comes first), or when the source
 * falls out of the table. The per-source table is an LRU, so a flood from many addresses stays bounded.
 */
export class RejectionLog {
  private readonly log: Logger;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly sources: LRUCache<string, SourceWindow>;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(options: RejectionLogOptions) {
    this.log = options.log;
    this.windowMs = options.windowMs ?? 10_000;
    this.now = options.now ?? Date.now;
    this.sources = new LRUCache<string, SourceWindow>({
      max: options.maxSources ?? 10_000,
      dispose: (w, source, reason) => {
        if (reason === "evict") this.flushOne(source, w);
      },
    });
  }

  /** Logs one rejection from `source` (fields and message as the caller would), or counts it. */
  rejected(source: string, level: "info" | "warn", fields: Record<string, unknown>, message: string): void {
    const now = this.now();
    const w = this.sources.get(source);
    if (w && now - w.startedAt < this.windowMs) {
      w.suppressed++;
      this.armSweep();
      return;
    }
    if (w) this.flushOne(source, w);
    this.sources.set(source, { startedAt: now, suppressed: 0 });
    this.log[level]({ ...fields, source }, message);
  }

  /** Logs the counts of every window that is over; the sweep timer calls it. */
  sweep(): void {
    const now = this.now();
    let pending = false;
    for (const [source, w] of this.sources.entries()) {
      if (w.suppressed === 0) continue;
      if (now - w.startedAt >= this.windowMs) this.flushOne(source, w);
      else pending = true;
    }
    if (!pending) this.stop();
  }

  /** Stops the sweep timer (the service's shutdown). */
  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private armSweep(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => this.sweep(), this.windowMs);
    this.sweeper.unref();
  }

  private flushOne(source: string, w: SourceWindow): void {
    if (w.suppressed === 0) return;
    const n = w.suppressed;
    w.suppressed = 0;
    this.log.warn(
      { source, suppressed: n, windowS: this.windowMs / 1000 },
      `${n} more rejected NOTIFY${n === 1 ? "" : "s"} from ${source} suppressed`,
    );
  }
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
  const rejections = options.rejections ?? new RejectionLog({ log });
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
      rejections.rejected(source, "info", { zone: question.name.toString() }, "NOTIFY for a zone not served here");
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
      rejections.rejected(source, "warn", { zone: question.name.toString(), reason: err.message }, "NOTIFY failed its TSIG check");
      const keyName = err.details.keyName;
      const key = keyName === undefined ? undefined : zone.keys.find((k) => k.name.toString() === keyName);
      const answer = await tsigErrorResponse(wire, err, { key, now: options.now });
      return answer ?? encode(replyTo(query, Rcode.NOTAUTH));
    }

    const decision = decideNotify(zone.acl, source, tsig);
    if (!decision.accept) {
      result(decision.rcode === "REFUSED" ? "refused" : "notauth");
      rejections.rejected(source, "warn", { zone: question.name.toString(), reason: decision.reason }, "NOTIFY refused");
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
