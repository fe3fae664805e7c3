/**
 * @module The zone transfer client: AXFR (RFC 5936) and IXFR (RFC 1995) over TCP, streaming.
 *
 * Memory stays bounded whatever the zone's size: each message is TSIG-checked, parsed, and its records
 * are handed to an `XfrSink` in chunks. The socket is read at the primary's pace (a primary drops a
 * client that stops reading); messages the sink has not taken yet wait in a small memory queue and then
 * on disk (frame-spool.ts). Nothing here holds the zone.
 *
 * The reply is read as a sequence of records (RFC 5936 §2.2: message boundaries mean nothing):
 *
 * ```
 *   first record: SOA(N) of the zone ───────── IXFR, alone in its message: N not newer than ours → up
 *        │                                      to date (RFC 1995 §4); N newer → the primary has no
 *        │                                      history (PowerDNS): an IXFR failure, AXFR follows
 *        ├─ AXFR ──────────────────────────┐
 *        └─ IXFR: second record ──┬─ SOA(ours) → changesets: SOA(old) deletions… SOA(new) additions…
 *                                 │            each old = the previous new; the last new = N
 *                                 └─ anything else → AXFR-style reply (RFC 1995 §4), as AXFR:
 *   AXFR body: records … until SOA(N) again (byte-identical to the first: RFC 5936 §2.2), then nothing.
 * ```
 *
 * Every message must carry our ID, QR, opcode QUERY, NOERROR and no TC; the question may be omitted
 * after the first (RFC 5936 §2.2.1). With a key, every message goes through the TSIG stream verifier
 * (RFC 8945 §5.3.1: at most 99 unsigned in a row, the last one signed). Idle and total timeouts (BIND's
 * 60/120 minutes by default) and record/byte limits bound what a hostile primary can make us do.
 */
import { connect, type Socket } from "node:net";
import { Rcode, RRType } from "../../dns/constants.ts";
import { decodeMessage, type Message, type ResourceRecord } from "../../dns/message.ts";
import type { Name } from "../../dns/name.ts";
import { Serial } from "../../dns/serial.ts";
import { TsigError } from "../../dns/tsig/errors.ts";
import type { Clock } from "../../dns/tsig/time.ts";
import { TsigStreamVerifier } from "../../dns/tsig/verify.ts";
import { buildRequest, checkReply, type Request } from "./request.ts";
import type { PrimaryTarget } from "./soa-query.ts";
import { soaFields } from "./soa-query.ts";
import { FrameSpool } from "./frame-spool.ts";
import { FrameDecoder, FramingError, frame } from "../../dns/wire/tcp-framing.ts";
import { describePeer, rcodeError, socketError, TransferError } from "./transfer-error.ts";

/** Where a transfer's content goes. Calls come in order, each awaited before the next. */
export interface XfrSink {
  /** A whole zone follows (AXFR, or an AXFR-style reply to IXFR); `soa` is its SOA record. */
  beginFull(soa: ResourceRecord): Promise<void>;
  /** Changesets follow, leading from our serial to `soa` (the primary's current SOA). */
  beginIncremental(soa: ResourceRecord): Promise<void>;
  /** IXFR: a changeset starts at `fromSoa`; its deletions follow. */
  beginChangeset(fromSoa: ResourceRecord): Promise<void>;
  /** IXFR: the changeset's additions follow, leading to `toSoa`. */
  beginAdditions(toSoa: ResourceRecord): Promise<void>;
  /** Records: of the whole zone (the SOA excluded), or the current deletions/additions. */
  records(chunk: ResourceRecord[]): Promise<void>;
  /** The transfer is complete and verified (closing SOA seen, TSIG stream finished). */
  end(): Promise<void>;
}

export interface XfrLimits {
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  totalTimeoutMs: number;
  maxRecords: number;
  maxBytes: number;
  /** Records per `records()` call. */
  chunkRecords: number;
}

export interface XfrOptions {
  kind: "axfr" | "ixfr";
  zone: Name;
  primary: PrimaryTarget;
  /** IXFR: our current SOA record (sent in the authority section, RFC 1995 §3). */
  currentSoa?: ResourceRecord;
  sink: XfrSink;
  limits: XfrLimits;
  now?: Clock;
  signal?: AbortSignal;
  /** Where to spool messages the sink has not taken yet (default: the OS temp dir). */
  spoolDir?: string;
}

export interface XfrResult {
  /** What the primary sent: a whole zone, changesets, or a single SOA (we are current). */
  style: "axfr" | "ixfr" | "up-to-date";
  soa: ResourceRecord;
  serial: number;
  /** Records received (answer-section RRs, both SOA copies included). */
  records: number;
  /** Octets of DNS messages received. */
  bytes: number;
  messages: number;
  changesets: number;
  durationMs: number;
}

type State = "first" | "ixfr-second" | "axfr-body" | "ixfr-deletes" | "ixfr-adds" | "done";

function sameSoa(a: ResourceRecord, b: ResourceRecord): boolean {
  if (a.rdata.length !== b.rdata.length || !a.name.equals(b.name)) return false;
  for (let i = 0; i < a.rdata.length; i++) if (a.rdata[i] !== b.rdata[i]) return false;
  return true;
}

/** Longest the parse loop runs without letting the socket be read (see the loop in `transfer`). */
const YIELD_MS = 20;

/**
 * Runs one AXFR or IXFR into `options.sink`.
 * @throws TransferError naming the cause; the sink has then not seen `end()`.
 */
export async function transfer(options: XfrOptions): Promise<XfrResult> {
  const { zone, primary, sink, limits, kind } = options;
  const peer = describePeer(primary.address, primary.port);
  const started = Date.now();
  const qtype = kind === "axfr" ? RRType.AXFR : RRType.IXFR;
  if (kind === "ixfr" && !options.currentSoa) throw new RangeError("IXFR needs our current SOA");
  const request = await buildRequest(zone, qtype, { key: primary.key, authority: options.currentSoa, now: options.now });
  const what = kind.toUpperCase();
  const ourSerial = options.currentSoa ? soaFields(options.currentSoa, "our store").serial : undefined;

  const socket = await open(primary, peer, limits.connectTimeoutMs, options.signal);
  // Read as fast as the primary sends (primaries drop slow readers); what the sink has not taken yet
  // waits in a bounded memory queue, then on disk (frame-spool.ts).
  const queue = new FrameSpool({ dir: options.spoolDir });
  const decoder = new FrameDecoder();
  let bytes = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  const armIdle = (): void => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      queue.fail(new TransferError("idle-timeout", `${peer} sent nothing for ${Math.round(limits.idleTimeoutMs / 1000)} s during our ${what} of ${zone}`));
      socket.destroy();
    }, limits.idleTimeoutMs);
  };
  const totalTimer = setTimeout(() => {
    queue.fail(new TransferError("total-timeout", `our ${what} of ${zone} from ${peer} took longer than ${Math.round(limits.totalTimeoutMs / 1000)} s`));
    socket.destroy();
  }, limits.totalTimeoutMs);
  const onAbort = (): void => {
    const reason = options.signal?.reason instanceof Error ? options.signal.reason.message : "the service is shutting down";
    queue.fail(new TransferError("aborted", `our ${what} of ${zone} from ${peer} was stopped: ${reason}`));
    socket.destroy();
  };
  options.signal?.addEventListener("abort", onAbort);
  socket.on("data", (data: Buffer) => {
    armIdle(); // progress from the primary
    try {
      const frames = decoder.push(new Uint8Array(data.buffer, data.byteOffset, data.length));
      for (const f of frames) bytes += f.length;
      if (bytes > limits.maxBytes) {
        queue.fail(new TransferError("limit", `our ${what} of ${zone} from ${peer} passed the limit of ${limits.maxBytes} octets`));
        socket.destroy();
        return;
      }
      queue.push(frames);
    } catch (err) {
      const why = err instanceof FramingError ? err.message : String(err);
      queue.fail(new TransferError("malformed", `${peer} broke DNS-over-TCP framing during our ${what}: ${why}`));
      socket.destroy();
    }
  });
  socket.on("error", (err) => queue.fail(socketError(peer, err, "transfer")));
  // The idle timeout measures the primary's silence: once it has sent everything, spooled messages may
  // take as long as the sink needs (the total timeout still applies).
  const ended = (): void => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = undefined;
    queue.end();
  };
  socket.on("end", ended);
  socket.on("close", ended);

  const verifier = request.key && request.mac
    ? new TsigStreamVerifier(request.key, request.mac, { now: options.now, peer: `the primary ${peer}` })
    : undefined;

  let state = "first" as State;
  let first: ResourceRecord | undefined;
  let firstSerial = 0;
  let changesetTo: ResourceRecord | undefined;
  let changesets = 0;
  let records = 0;
  let messages = 0;
  let style = (kind === "axfr" ? "axfr" : "ixfr") as XfrResult["style"];
  let chunk: ResourceRecord[] = [];
  const flush = async (): Promise<void> => {
    if (chunk.length === 0) return;
    const out = chunk;
    chunk = [];
    await sinkCall(() => sink.records(out));
  };
  const sinkCall = async (fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      if (err instanceof TransferError) throw err;
      throw new TransferError("sink", `storing our ${what} of ${zone} failed: ${(err as Error).message}`, { cause: err });
    }
  };
  const serialOf = (rr: ResourceRecord): number => soaFields(rr, peer).serial;
  const inconsistent = (why: string): TransferError =>
    new TransferError(kind === "ixfr" && style === "ixfr" ? "inconsistent-ixfr" : "bad-axfr", `${peer}'s ${what} of ${zone}: ${why}`);

  /** One record of the reply through the state machine drawn in the module comment. */
  const step = async (rr: ResourceRecord, lastOfMessage: boolean, messageRecords: number): Promise<void> => {
    const isSoa = rr.type === RRType.SOA;
    switch (state) {
      case "first": {
        if (!isSoa || !rr.name.equals(zone)) throw inconsistent(`the reply does not begin with the zone's SOA (first record: ${rr.name} type ${rr.type})`);
        first = rr;
        firstSerial = serialOf(rr);
        if (kind === "axfr") {
          await sinkCall(() => sink.beginFull(rr));
          state = "axfr-body";
        } else if (messageRecords === 1 && lastOfMessage && ourSerial !== undefined && !Serial.of(firstSerial).isNewerThan(ourSerial)) {
          // RFC 1995 §4: "If the server's copy is not newer…, a single SOA record is returned."
          style = "up-to-date";
          state = "done";
        } else if (messageRecords === 1 && lastOfMessage) {
          // A single SOA that is newer than ours: the primary keeps no history to send (PowerDNS does
          // this). Not "up to date" (RFC 1995 §2); the caller falls back to AXFR.
          throw new TransferError(
            "inconsistent-ixfr",
            `${peer} answered our IXFR of ${zone} from serial ${ourSerial} with only its SOA (serial ${firstSerial}): it has no changes to send`,
          );
        } else {
          state = "ixfr-second";
        }
        return;
      }
      case "ixfr-second": {
        if (isSoa && ourSerial !== undefined && serialOf(rr) === ourSerial && serialOf(rr) !== firstSerial) {
          style = "ixfr";
          await sinkCall(() => sink.beginIncremental(first!));
          await sinkCall(() => sink.beginChangeset(rr));
          changesets++;
          state = "ixfr-deletes";
          return;
        }
        // Anything else: an AXFR-style reply (RFC 1995 §4); the second record is the zone's first.
        style = "axfr";
        await sinkCall(() => sink.beginFull(first!));
        state = "axfr-body";
        return step(rr, lastOfMessage, messageRecords);
      }
      case "axfr-body": {
        if (isSoa && rr.name.equals(zone)) {
          if (!sameSoa(rr, first!)) {
            throw new TransferError("bad-axfr", `${peer}'s ${what} of ${zone} began with SOA serial ${firstSerial} but ended with serial ${serialOf(rr)} (RFC 5936 §2.2 requires the same SOA)`);
          }
          await flush();
          state = "done";
          return;
        }
        if (!rr.name.isSubdomainOf(zone)) throw inconsistent(`record ${rr.name} lies outside the zone`);
        chunk.push(rr);
        if (chunk.length >= limits.chunkRecords) await flush();
        return;
      }
      case "ixfr-deletes": {
        if (isSoa) {
          await flush();
          const fromSerial = changesetTo ? serialOf(changesetTo) : ourSerial!;
          const toSerial = serialOf(rr);
          if (!Serial.of(toSerial).isNewerThan(fromSerial)) throw inconsistent(`a changeset goes from serial ${fromSerial} to ${toSerial}, not forwards`);
          changesetTo = rr;
          await sinkCall(() => sink.beginAdditions(rr));
          state = "ixfr-adds";
          return;
        }
        chunk.push(rr);
        if (chunk.length >= limits.chunkRecords) await flush();
        return;
      }
      case "ixfr-adds": {
        if (isSoa) {
          await flush();
          const serial = serialOf(rr);
          const toSerial = serialOf(changesetTo!);
          if (serial === firstSerial && toSerial === firstSerial) {
            if (!sameSoa(rr, first!)) throw inconsistent(`the closing SOA differs from the opening one`);
            state = "done";
            return;
          }
          if (serial !== toSerial) throw inconsistent(`a changeset starts at serial ${serial}, but the previous one ended at ${toSerial}`);
          await sinkCall(() => sink.beginChangeset(rr));
          changesets++;
          state = "ixfr-deletes";
          return;
        }
        chunk.push(rr);
        if (chunk.length >= limits.chunkRecords) await flush();
        return;
      }
      case "done":
        throw inconsistent(`records follow the closing SOA`);
    }
  };

  try {
    armIdle();
    socket.write(frame(request.wire));
    let yieldedAt = performance.now();
    while (state !== "done") {
      // Messages already queued, and a sink that keeps up, resolve as microtasks: the loop would parse the
      // whole backlog without letting the socket be read, and a primary whose writes block that long drops
      // us (knotd after its TCP I/O timeout: seen at 80-90k records into a 100k AXFR, on a busy machine,
      // 1.7 s spent parsing). So the socket gets a turn at least every YIELD_MS.
      if (performance.now() - yieldedAt > YIELD_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        yieldedAt = performance.now();
      }
      const raw = await queue.next();
      if (raw === undefined) {
        throw new TransferError(
          "reset",
          records === 0
            ? `${peer} closed the connection without answering our ${what} of ${zone}`
            : `${peer} closed the connection after ${records} records, before the ${what} of ${zone} was complete`,
        );
      }
      let message: Message;
      try {
        message = decodeMessage(raw);
      } catch (err) {
        throw new TransferError("malformed", `${peer} sent an unreadable message ${messages + 1} in our ${what} of ${zone}: ${(err as Error).message}`);
      }
      if (verifier) {
        try {
          // The decoder already found the TSIG record: passing its offset spares the verifier a walk.
          await verifier.next(raw, message.tsig?.offset ?? null);
        } catch (err) {
          if (err instanceof TsigError) {
            // An unsigned error answer (REFUSED, NOTIMP…) to a signed request is best reported as the rcode.
            if (err.code === "unsigned" && messages === 0 && message.rcode !== Rcode.NOERROR) throw rcodeError(peer, message.rcode, `${what} of ${zone}`);
            throw new TransferError("tsig", err.message, { tsig: err });
          }
          throw err;
        }
      }
      checkReply(message, request as Request, peer, messages > 0);
      messages++;
      if (message.rcode !== Rcode.NOERROR) throw rcodeError(peer, message.rcode, `${what} of ${zone}`);
      if (message.flags.tc) throw new TransferError("malformed", `${peer} set TC on a TCP message of our ${what} of ${zone}`);
      const answers = message.answers;
      if (messages === 1 && answers.length === 0) throw inconsistent("the first message holds no records");
      records += answers.length;
      if (records > limits.maxRecords) {
        throw new TransferError("limit", `our ${what} of ${zone} from ${peer} passed the limit of ${limits.maxRecords} records`);
      }
      for (let i = 0; i < answers.length; i++) {
        // `step` moves `state`; TypeScript cannot see that through the closure.
        if ((state as State) === "done") throw inconsistent("records follow the closing SOA");
        await step(answers[i]!, i === answers.length - 1, answers.length);
      }
    }
    verifierFinish(verifier);
    if (style !== "up-to-date") await sinkCall(() => sink.end());
    return {
      style,
      soa: first!,
      serial: firstSerial,
      records,
      bytes,
      messages,
      changesets,
      durationMs: Date.now() - started,
    };
  } finally {
    if (idleTimer) clearTimeout(idleTimer);
    clearTimeout(totalTimer);
    options.signal?.removeEventListener("abort", onAbort);
    socket.destroy();
    await queue.close();
  }
}

function verifierFinish(verifier: TsigStreamVerifier | undefined): void {
  if (!verifier) return;
  try {
    verifier.finish();
  } catch (err) {
    if (err instanceof TsigError) throw new TransferError("tsig", err.message, { tsig: err });
    throw err;
  }
}

/** Connects, within `timeoutMs`, or fails with "connect". */
function open(primary: PrimaryTarget, peer: string, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new TransferError("aborted", `not connecting to ${peer}: the service is shutting down`));
      return;
    }
    const socket = connect({ host: primary.address, port: primary.port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TransferError("connect", `cannot connect to ${peer} over TCP: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(socketError(peer, err, "connect"));
    });
  });
}
