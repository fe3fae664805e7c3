/**
 * @module Zone transfers out to downstream secondaries: AXFR (RFC 5936) and IXFR (RFC 1995) on the DNS
 * port, for every zone model (a `hidden` zone too: the distribution master of the README's models), fed by
 * the DNS dispatcher with the decoded request.
 *
 * 1. The question names a zone here (`GET /internal/v1/zones/:zone`), else NOTAUTH (as knotd answers).
 * 2. Over UDP, AXFR is NOTIMP (knotd's answer; RFC 5936 §4.2 makes AXFR TCP only).
 * 3. `transfer-acl.ts` decides who may transfer: no matching `transferAllow` entry is REFUSED; a TSIG
 *    failure is answered as RFC 8945 §5.2 says (NOTAUTH with BADKEY/BADSIG unsigned, BADTIME signed); an
 *    entry's key not used is NOTAUTH. No record leaves before this step has allowed the request.
 * 4. A zone with no committed version, or expired here, is SERVFAIL: a secondary that may not answer
 *    queries must not hand the zone on either.
 * 5. AXFR: the version served at the start, streamed from the Worker's record stream
 *    (`GET …/versions/:version/records`, SOA first) and packed into messages close to 64 KiB
 *    (`transfer-packer.ts`), the same SOA again at the end. A commit landing meanwhile changes nothing: the
 *    version's rows stay readable (the sweep keeps recent versions).
 * 6. IXFR: `ixfr-choice.ts` picks the single SOA, TC, the journal's difference, or the whole zone
 *    AXFR-style (a journal gap, a newer or unrelated client serial). The difference is sent per serial step,
 *    as stored (one deletion and one addition set per step, RFC 1995 §4), not condensed: every peer accepts
 *    it, and it needs no computation over the steps.
 * 7. Signed requests get every message signed (RFC 8945 §5.3.1 allows gaps of 99; knotd signs each),
 *    with the request's key and its spelling of the key name.
 * 8. A downstream's refresh SOA query comes signed with its transfer key, and a secondary rejects an
 *    unsigned answer ("failed to verify TSIG"): the dispatcher hands a signed SOA query here, and it gets
 *    the current SOA (AA), signed, past the same TSIG check (the address rule is not applied: the SOA is
 *    public, the port-53 front answers it unsigned to anyone).
 * 9. A request with the EDNS EXPIRE option (RFC 7314) gets it back in every message: the seconds left
 *    before the zone expires here, or a `primary` zone's SOA EXPIRE (`expireFor`).
 *
 * A transfer holds one message under construction, one record-stream chunk and the connection's unsent
 * octets (the listener awaits 'drain' past its bound): its memory does not grow with the zone.
 */
import { Rcode, RRType } from "../../../dns/constants.ts";
import { decodeBase64, prepareTsigKey, type TsigKey } from "../../../dns/tsig/key.ts";
import type { HmacProvider } from "../../../dns/tsig/hmac.ts";
import { TsigError } from "../../../dns/tsig/errors.ts";
import { tsigErrorResponse } from "../../../dns/tsig/error-response.ts";
import { signResponse, TsigStreamSigner } from "../../../dns/tsig/sign.ts";
import type { Clock } from "../../../dns/tsig/time.ts";
import { verifyRequest, type VerifiedRequest } from "../../../dns/tsig/verify.ts";
import { encodeMessage, type Message, type Question, type ResourceRecord } from "../../../dns/message.ts";
import { soaExpire, soaSerial } from "../../../dns/rdata/soa.ts";
import { asksExpire, expireSecondsLeft } from "../../../dns/edns-expire.ts";
import { parseRecordStream, RecordFrames } from "../../../contract/record-stream.ts";
import type { Journal, TransferLogEntry, ZoneConfig, ZoneConfigList } from "../../../contract/internal-v1.ts";
import type { TransferResult } from "../../../contract/vocabulary.ts";
import type { Logger } from "../../ops/log.ts";
import type { Metrics } from "../../ops/metrics.ts";
import type { DnsReply, RequestContext, StreamingReply } from "../request-context.ts";
import { replyTo } from "../reply.ts";
import { chooseIxfr } from "./ixfr-choice.ts";
import { recordBatches, wholeRecords } from "./record-batches.ts";
import { decideTransfer, sameKeyName, type TransferTsig } from "./transfer-acl.ts";
import { TransferPacker, type PackerHeader } from "./transfer-packer.ts";
import { DEFAULT_UDP_PAYLOAD_SIZE } from "../../../dns/edns.ts";

/** What transfers out read from the Worker (`worker/worker-client.ts` implements it over `/internal/v1`). */
export interface TransferSource {
  zoneForTransfer(zone: string): Promise<ZoneConfigList | null>;
  /**
   * A version's record stream, its SOA first. `zoneId` (the zone's config `id`, when known) lets a source that
   * holds versions itself tell this zone's from one deleted and created again (`replica-records.ts`).
   */
  versionRecords(zone: string, version: number, zoneId?: number): Promise<{ serial: number; version: number; chunks: AsyncIterable<Uint8Array>; cancel(): void } | null>;
  journal(zone: string, since: number): Promise<Journal | null>;
  /** Writes a row of the zone's transfer log (direction `out`); absent in tests that need no log. */
  logTransferOut?(zone: string, entry: TransferLogEntry): Promise<void>;
}

export interface TransferOutOptions {
  source: TransferSource;
  hmac: HmacProvider;
  log: Logger;
  metrics?: Metrics | undefined;
  /** The clock of TSIG checks and signatures (tests inject a skewed one). */
  now?: Clock | undefined;
}

/** Answers one AXFR or IXFR request (the dispatcher has checked the opcode and the single question). */
export type TransferOutHandler = (query: Message, wire: Uint8Array, ctx: RequestContext) => Promise<DnsReply>;

/** `soa`: a secondary's refresh query signed with its transfer key (step 8 of the module comment). */
type Kind = "axfr" | "ixfr" | "soa";
type Result = "full" | "incremental" | "current" | "soa" | "refused" | "notauth" | "tsig_error" | "notimp" | "servfail" | "formerr" | "failed";

/** A zone name as the Worker's paths take it: lowercase, no trailing dot. */
const zonePathName = (q: Question): string => q.name.toString().replace(/\.$/, "").toLowerCase();

export function createTransferOut(options: TransferOutOptions): TransferOutHandler {
  const { source, log, metrics } = options;

  return async (query, wire, ctx) => {
    const question = query.questions[0]!;
    const kind: Kind = question.type === RRType.AXFR ? "axfr" : question.type === RRType.IXFR ? "ixfr" : "soa";
    const zone = zonePathName(question);
    const client = ctx.remoteAddress;
    const started = performance.now();
    const done = (result: Result, extra: Record<string, unknown> = {}): void => {
      metrics?.xfrOut.inc({ kind, result });
      const durationMs = Math.round(performance.now() - started);
      log.info({ zone, client, kind, transport: ctx.transport, result, durationMs, ...extra }, "transfer out");
      // The zone's transfer log gets AXFR and IXFR (not a downstream's SOA refresh, which comes every REFRESH).
      if (kind !== "soa" && options.source.logTransferOut) {
        // The downstream by address alone: its source port changes with every connection.
        const entry = logEntry(kind, result, client, durationMs, extra);
        options.source.logTransferOut(zone, entry).catch((err: unknown) => log.warn({ zone, err: { message: (err as Error).message } }, "transfer out not written to the transfer log"));
      }
    };
    const plain = (rcode: number, result: Result, reason?: string): Uint8Array => {
      done(result, reason === undefined ? {} : { reason });
      return encodeMessage(replyTo(query, rcode)).wire;
    };

    const config = await source.zoneForTransfer(zone);
    const zoneConfig = config?.zones[0];
    if (!config || !zoneConfig) return plain(Rcode.NOTAUTH, "notauth", "not a zone here");
    if (kind === "axfr" && ctx.transport === "udp") return plain(Rcode.NOTIMP, "notimp", "AXFR over UDP");

    // The ACL's address step first: a stranger is REFUSED before any TSIG work, and learns nothing of keys.
    const byAddress = decideTransfer(zoneConfig.transferAllow, client, { kind: "unsigned" });
    if (kind !== "soa" && !byAddress.allow && byAddress.rcode === "REFUSED") return plain(Rcode.REFUSED, "refused", byAddress.reason);

    const keys = await transferKeys(config, options.hmac);
    let verified: VerifiedRequest | undefined;
    try {
      verified = await verifyRequest(wire, keys, { now: options.now, peer: `the transfer client ${client}` });
    } catch (err) {
      if (!(err instanceof TsigError)) throw err;
      done("tsig_error", { reason: err.message });
      const keyName = err.details.keyName;
      const key = keyName === undefined ? undefined : keys.find((k) => sameKeyName(k.name.toString(), keyName));
      return (await tsigErrorResponse(wire, err, { key, now: options.now })) ?? encodeMessage(replyTo(query, Rcode.NOTAUTH)).wire;
    }
    const tsig: TransferTsig = verified ? { kind: "verified", keyName: verified.key.name.toString() } : { kind: "unsigned" };
    const decision = kind === "soa" ? ({ allow: true, match: "signed SOA query" } as const) : decideTransfer(zoneConfig.transferAllow, client, tsig);
    if (!decision.allow) {
      if (decision.badKey && verified) {
        done("tsig_error", { reason: decision.reason });
        const err = new TsigError("unknown-key", decision.reason, { keyName: verified.record.keyName.toString() });
        return (await tsigErrorResponse(wire, err, { now: options.now })) ?? plain(Rcode.NOTAUTH, "notauth");
      }
      return plain(decision.rcode === "REFUSED" ? Rcode.REFUSED : Rcode.NOTAUTH, decision.rcode === "REFUSED" ? "refused" : "notauth", decision.reason);
    }
    const sign = async (message: Uint8Array): Promise<Uint8Array> => (verified ? signResponse(message, verified, { now: options.now }) : message);

    if (zoneConfig.currentVersion === null || zoneConfig.serial === null) return sign(plain(Rcode.SERVFAIL, "servfail", "the zone has no data yet"));
    if (zoneConfig.expiresAt !== null && zoneConfig.expiresAt <= Date.now()) return sign(plain(Rcode.SERVFAIL, "servfail", "the zone has expired here"));

    const transfer: Transfer = { source, zone, question, query, verified, now: options.now, version: zoneConfig.currentVersion, zoneId: zoneConfig.id, expire: expireFor(zoneConfig, query) };
    if (kind === "axfr") return full(transfer, (r, extra) => done(r, extra));
    if (kind === "soa") {
      const soa = await currentSoa(transfer);
      if (!soa) return sign(plain(Rcode.SERVFAIL, "servfail", "the served version is gone"));
      done("soa", { serial: soaSerial(soa.rdata) });
      return sign(single(transfer, [soa]));
    }

    const clientSoa = query.authorities.find((rr) => rr.type === RRType.SOA);
    if (!clientSoa) return sign(plain(Rcode.FORMERR, "formerr", "IXFR without the client's SOA in the authority section (RFC 1995 §3)"));
    const clientSerial = soaSerial(clientSoa.rdata);
    const choice = chooseIxfr(clientSerial, zoneConfig.serial, ctx.transport);
    if (choice === "current") {
      const soa = await currentSoa(transfer);
      if (!soa) return sign(plain(Rcode.SERVFAIL, "servfail", "the served version is gone"));
      done("current", { clientSerial, serial: soaSerial(soa.rdata) });
      return sign(single(transfer, [soa]));
    }
    if (choice === "journal") {
      const journal = await source.journal(zone, clientSerial);
      if (journal && journal.changesets.length > 0) return incremental(transfer, journal, (r, extra) => done(r, { clientSerial, ...extra }));
    }
    return full(transfer, (r, extra) => done(r, { clientSerial, ...extra }));
  };
}

/** The log's words for a result: served (ok), nothing to send (up-to-date), refused, or failed. */
const LOGGED: Record<Result, TransferResult> = {
  full: "ok",
  incremental: "ok",
  current: "up-to-date",
  soa: "ok",
  refused: "refused",
  notauth: "refused",
  tsig_error: "refused",
  notimp: "refused",
  formerr: "refused",
  servfail: "failed",
  failed: "failed",
};

/** A transfer-log row from what `done` was told: serials, records, octets, and the reason in words. */
function logEntry(kind: "axfr" | "ixfr", result: Result, peer: string, durationMs: number, extra: Record<string, unknown>): TransferLogEntry {
  const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
  const entry: TransferLogEntry = { kind, result: LOGGED[result], direction: "out", primary: peer.slice(0, 300), durationMs, at: Date.now() - durationMs };
  const from = num(extra.clientSerial) ?? num(extra.fromSerial);
  const to = num(extra.serial);
  if (from !== undefined) entry.fromSerial = from;
  if (to !== undefined) entry.toSerial = to;
  if (num(extra.records) !== undefined) entry.records = num(extra.records);
  if (num(extra.bytes) !== undefined) entry.bytes = num(extra.bytes);
  if (typeof extra.reason === "string") entry.error = extra.reason.slice(0, 2000);
  return entry;
}

interface Transfer {
  source: TransferSource;
  zone: string;
  question: Question;
  query: Message;
  verified: VerifiedRequest | undefined;
  now: Clock | undefined;
  /** The version served when the request arrived. */
  version: number;
  /** The zone's id, from its config (absent from older Workers). */
  zoneId: number | undefined;
  /** The EDNS EXPIRE option's seconds for a reply starting with `soa`; undefined when the request did not ask. */
  expire: ((soa: ResourceRecord) => number) | undefined;
}

/**
 * RFC 7314 §3: when the request carried the EXPIRE option, every message of the reply carries the seconds
 * left before the zone expires here; a `primary` zone, which never expires, answers its SOA's EXPIRE.
 */
function expireFor(zone: ZoneConfig, query: Message): Transfer["expire"] {
  if (!asksExpire(query.edns)) return undefined;
  const expiresAt = zone.model === "primary" ? null : zone.expiresAt;
  return (soa) => expireSecondsLeft(expiresAt, soaExpire(soa.rdata), Date.now());
}

/** The keys named by the zone's `transferAllow`, prepared for verification. */
async function transferKeys(config: ZoneConfigList, hmac: HmacProvider): Promise<TsigKey[]> {
  const named = config.zones[0]!.transferAllow.map((e) => e.tsigKey).filter((n): n is string => !!n);
  const keys: TsigKey[] = [];
  for (const material of config.keys) {
    if (!named.some((n) => sameKeyName(n, material.name))) continue;
    if (decodeBase64(material.secret) === undefined) continue;
    keys.push(await prepareTsigKey(material, hmac));
  }
  return keys;
}

/** Signs each message of a stream with the request's key (every message, as knotd does). */
function streamSigner(t: Transfer): (message: Uint8Array) => Promise<Uint8Array> {
  if (!t.verified) return async (m) => m;
  const signer = new TsigStreamSigner(t.verified.key, t.verified.mac, { keyName: t.verified.record.keyName, now: t.now });
  return (m) => signer.next(m);
}

/**
 * The header every message of the reply shares: the request's ID and RD, an OPT when it had one (RFC 6891 §7),
 * with the EXPIRE option when it asked (the reply's SOA, `soa`, gives a primary zone's EXPIRE).
 */
function packerHeader(t: Transfer, soa: ResourceRecord): PackerHeader {
  const edns = t.query.edns;
  return { id: t.query.id, rd: t.query.flags.rd, edns: edns ? { udpPayloadSize: DEFAULT_UDP_PAYLOAD_SIZE, dnssecOk: edns.dnssecOk, expire: t.expire?.(soa) } : undefined };
}

/** One message holding `records` (the single-SOA IXFR reply). */
function single(t: Transfer, records: ResourceRecord[]): Uint8Array {
  const packer = new TransferPacker(packerHeader(t, records[0]!), t.question);
  for (const rr of records) packer.add(rr);
  return packer.finish();
}

/** The served version's SOA. */
function currentSoa(t: Transfer): Promise<ResourceRecord | undefined> {
  return firstSoa(t.source, t.zone, t.version, t.zoneId);
}

/** A version's SOA: the first record of its stream (the read stops there); undefined when the version is gone. */
export async function firstSoa(source: Pick<TransferSource, "versionRecords">, zone: string, version: number, zoneId?: number): Promise<ResourceRecord | undefined> {
  const stream = await source.versionRecords(zone, version, zoneId);
  if (!stream) return undefined;
  try {
    for await (const batch of recordBatches(stream.chunks)) {
      const first = batch[0];
      if (first) return first.type === RRType.SOA ? first : undefined;
    }
    return undefined;
  } finally {
    stream.cancel();
  }
}

type Report = (result: Result, extra?: Record<string, unknown>) => void;

/** The whole zone (AXFR, or IXFR AXFR-style): SOA, every record, SOA. The stream opens before the reply. */
async function full(t: Transfer, report: Report): Promise<DnsReply> {
  const stream = await t.source.versionRecords(t.zone, t.version, t.zoneId);
  if (!stream) {
    report("servfail", { reason: `version ${t.version} is gone` });
    const reply = encodeMessage(replyTo(t.query, Rcode.SERVFAIL)).wire;
    return t.verified ? signResponse(reply, t.verified, { now: t.now }) : reply;
  }
  const sign = streamSigner(t);
  async function* messages(): AsyncGenerator<Uint8Array> {
    // Opened at the SOA, the stream's first record: the EXPIRE option of a primary zone is its EXPIRE field.
    // The records go from the stream's octets into the messages without an object each (`addWire`).
    let packer: TransferPacker | undefined;
    let soa: { wire: Uint8Array; body: number } | undefined;
    let records = 0;
    let ok = false;
    try {
      for await (const bytes of wholeRecords(stream!.chunks)) {
        const frames = new RecordFrames(bytes);
        while (frames.next()) {
          if (soa === undefined) {
            if (frames.type !== RRType.SOA) throw new Error(`the record stream of ${t.zone} version ${t.version} does not start with its SOA`);
            const wire = bytes.slice(frames.owner, frames.end);
            soa = { wire, body: frames.body - frames.owner };
            const record = parseRecordStream(wire)[0]!;
            packer = new TransferPacker(packerHeader(t, record), t.question);
          }
          records++;
          const message = packer!.addWire(bytes, frames.owner, frames.body, frames.end);
          if (message) yield await sign(message);
        }
      }
      if (soa === undefined || !packer) throw new Error(`the record stream of ${t.zone} version ${t.version} is empty`);
      // RFC 5936 §2.2: the same SOA closes the transfer.
      const message = packer.addWire(soa.wire, 0, soa.body, soa.wire.length);
      if (message) yield await sign(message);
      yield await sign(packer.finish());
      ok = true;
      report("full", { serial: stream!.serial, version: t.version, records: records + 1, messages: packer.messages, bytes: packer.bytes });
    } finally {
      stream!.cancel();
      if (!ok) report("failed", { version: t.version, records, messages: packer?.messages ?? 0 });
    }
  }
  return { stream: messages() } satisfies StreamingReply;
}

/** A record stream from the journal (base64), its SOA first. */
function soaFirst(b64: string): ResourceRecord[] {
  const records = parseRecordStream(Uint8Array.from(Buffer.from(b64, "base64")));
  const soa = records.filter((r) => r.type === RRType.SOA);
  if (soa.length !== 1) throw new Error(`a journal step holds ${soa.length} SOA records, not 1`);
  return [soa[0]!, ...records.filter((r) => r.type !== RRType.SOA)];
}

/**
 * The difference (RFC 1995 §4): the new SOA, then per step the old SOA and its deletions, the new SOA and
 * its additions, then the new SOA again. The journal is small next to the zone, so it is read whole.
 */
function incremental(t: Transfer, journal: Journal, report: Report): DnsReply {
  const steps = journal.changesets.map((cs) => ({ deletions: soaFirst(cs.deletions), additions: soaFirst(cs.additions) }));
  const newSoa = steps.at(-1)!.additions[0]!;
  const sign = streamSigner(t);
  async function* messages(): AsyncGenerator<Uint8Array> {
    const packer = new TransferPacker(packerHeader(t, newSoa), t.question);
    let records = 0;
    const add = (rr: ResourceRecord): Uint8Array | undefined => {
      records++;
      return packer.add(rr);
    };
    let m = add(newSoa);
    if (m) yield await sign(m);
    for (const step of steps) {
      for (const rr of step.deletions) if ((m = add(rr))) yield await sign(m);
      for (const rr of step.additions) if ((m = add(rr))) yield await sign(m);
    }
    if ((m = add(newSoa))) yield await sign(m);
    yield await sign(packer.finish());
    report("incremental", { fromSerial: journal.fromSerial, serial: soaSerial(newSoa.rdata), steps: steps.length, records, messages: packer.messages, bytes: packer.bytes });
  }
  return { stream: messages() } satisfies StreamingReply;
}
