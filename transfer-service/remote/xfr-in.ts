/**
 * @module The zone transfer client: AXFR (RFC 5936) and IXFR (RFC 1995) over TCP, streaming.
 *
 * Memory stays bounded whatever the zone's size: each message is TSIG-checked, parsed, and its records
 * are handed to an `XfrSink` in chunks. A whole zone's body goes to a sink that takes record streams
 * (`XfrSink.rawRecords`, as the Worker client does) without an object per record: after the first
 * message, a message of answers and a TSIG is only walked and its answers copied into stream bytes
 * (`axfr-raw.ts`), with the same checks; any other message is decoded in full. The socket is read at the primary's pace (a primary drops a
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
import { classToString, Rcode, RRClass, RRType, typeToString } from "../../dns/constants.ts";
import { decodeMessage, type Message, type ResourceRecord } from "../../dns/message.ts";
import { expireFromAnswer } from "../../dns/edns-expire.ts";
import type { Name } from "../../dns/name.ts";
import { Serial } from "../../dns/serial.ts";
import { TsigError } from "../../dns/tsig/errors.ts";
import type { Clock } from "../../dns/tsig/time.ts";
import { TsigStreamVerifier } from "../../dns/tsig/verify.ts";
import { assertOutboundAllowed } from "./outbound-guard.ts";
import { buildRequest, checkReply, type Request } from "./request.ts";
import type { PrimaryTarget } from "./soa-query.ts";
import { soaFields } from "./soa-query.ts";
import { FrameSpool } from "./frame-spool.ts";
import { FrameDecoder, FramingError, frame } from "../../dns/wire/tcp-framing.ts";
import { describePeer, rcodeError, socketError, TransferError } from "./transfer-error.ts";
import { ownerName, readRawHead, StreamBuilder, type RawHead, type RawRecordView } from "./axfr-raw.ts";
import { WireError } from "../../dns/wire/reader.ts";

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
  /**
   * Optional: a whole zone's records (the SOA excluded) as a record stream (`contract/record-stream.ts`),
   * cut only where the owner changes (or past 4× `rawChunkBytes`). A sink that has it gets an AXFR body
   * here instead of through `records`, decoded without an object per record (`axfr-raw.ts`).
   */
  rawRecords?(stream: Uint8Array, records: number): Promise<void>;
  /** Record-stream bytes per `rawRecords` call, roughly (default 1 MiB). */
  readonly rawChunkBytes?: number;
  /** The transfer is complete and verified (closing SOA seen, TSIG stream finished). */
  end(): Promise<void>;
}

export interface XfrLimits {
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  /**
   * How long the primary may take to send the first octets of its answer (at most `idleTimeoutMs`; absent:
   * `idleTimeoutMs`). A zone we hold has just had its SOA answered, but a bootstrap's AXFR is the first thing
   * sent to the primary, and a primary that takes the connection and never answers must not hold a transfer
   * slot for the hour of the idle timeout (Knot: `tcp-remote-io-timeout`, 5 s).
   */
  firstMessageTimeoutMs?: number | undefined;
  totalTimeoutMs: number;
  /** Records in one transfer (answer-section RRs, both SOA copies included). */
  maxRecords: number;
  /** Octets of DNS messages in one transfer. */
  maxBytes: number;
  /**
   * BIND 9.18.28's per-name guards: records of one type at one name (`max-records-per-type`), and types
   * at one name (`max-types-per-name`), counted over each run of records with the same owner (primaries
   * send a name's records together). Absent: not checked.
   */
  maxRecordsPerType?: number;
  maxTypesPerName?: number;
  /**
   * Whose limits these are, for the error in words ("this zone's limit", "the service's limit
   * (BACKSTOP_XFR_MAX_RECORDS)"); the service's by default.
   */
  whose?: { records?: string; bytes?: string };
  /**
   * Records the served zone holds (the SOA once): an IXFR that would leave more than `maxRecords` (what it
   * deletes and adds counted) is refused before it is stored. Absent: only the records received count.
   */
  currentRecords?: number | undefined;
  /** Records per `records()` call. */
  chunkRecords: number;
}

/** 2,000,000: counts in errors read as an operator writes them. */
export const formatCount = (n: number): string => n.toLocaleString("en-US");

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
  /** The EDNS EXPIRE option of the first message (RFC 7314 §3), seconds: absent when the primary sent none. */
  expireOption?: number | undefined;
}

type State = "first" | "ixfr-second" | "axfr-body" | "ixfr-deletes" | "ixfr-adds" | "done";

function sameSoa(a: ResourceRecord, b: ResourceRecord): boolean {
  if (a.rdata.length !== b.rdata.length || !a.name.equals(b.name)) return false;
  for (let i = 0; i < a.rdata.length; i++) if (a.rdata[i] !== b.rdata[i]) return false;
  return true;
}

/** Longest the parse loop runs without letting the socket be read (see the loop in `transfer`). */
const YIELD_MS = 20;

/** Names a transfer in error messages: "our IXFR of example.com. from 192.0.2.1:53". */
interface TransferNames {
  zone: Name;
  peer: string;
  /** "AXFR" or "IXFR". */
  what: string;
}

/**
 * Runs one AXFR or IXFR into `options.sink`.
 *
 * Its named steps: `open` (the TCP connection), `receive` (the socket read at the primary's pace into a
 * spool, under the idle, total and abort bounds), `readMessage` (one message: decoded, TSIG-checked,
 * checked as a reply) and the `ReplyReader`, whose `onFirstSoa`, `onIxfrSecond`, `onAxfrBody`,
 * `onIxfrDeletions` and `onIxfrAdditions` are the states of the module diagram.
 * @throws TransferError naming the cause; the sink has then not seen `end()`.
 */
export async function transfer(options: XfrOptions): Promise<XfrResult> {
  const { zone, primary, sink, limits, kind } = options;
  const peer = describePeer(primary.address, primary.port);
  const started = Date.now();
  const qtype = kind === "axfr" ? RRType.AXFR : RRType.IXFR;
  if (kind === "ixfr" && !options.currentSoa) throw new RangeError("IXFR needs our current SOA");
  const request = await buildRequest(zone, qtype, { key: primary.key, authority: options.currentSoa, now: options.now });
  const names: TransferNames = { zone, peer, what: kind.toUpperCase() };
  const ourSerial = options.currentSoa ? soaFields(options.currentSoa, "our store").serial : undefined;

  const socket = await open(primary, peer, `${names.what} of ${zone}`, limits.connectTimeoutMs, options.signal);
  const incoming = receive(socket, names, limits, options.signal, options.spoolDir);
  const verifier = request.key && request.mac
    ? new TsigStreamVerifier(request.key, request.mac, { now: options.now, peer: `the primary ${peer}` })
    : undefined;
  const reader = new ReplyReader(kind, names, ourSerial, sink, limits.chunkRecords, new NameGuard(limits, names));
  let records = 0;
  let messages = 0;
  let expireOption: number | undefined;

  try {
    incoming.send(request.wire);
    let yieldedAt = performance.now();
    while (!reader.done) {
      // Messages already queued, and a sink that keeps up, resolve as microtasks: the loop would parse the
      // whole backlog without letting the socket be read, and a primary whose writes block that long drops
      // us (knotd after its TCP I/O timeout: seen at 80-90k records into a 100k AXFR, on a busy machine,
      // 1.7 s spent parsing). So the socket gets a turn at least every YIELD_MS.
      if (performance.now() - yieldedAt > YIELD_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        yieldedAt = performance.now();
      }
      const raw = await incoming.next();
      if (raw === undefined) {
        throw new TransferError(
          "reset",
          records === 0
            ? `${peer} closed the connection without answering our ${names.what} of ${zone}`
            : `${peer} closed the connection after ${records} records, before the ${names.what} of ${zone} was complete`,
        );
      }
      const { message, head } = await readMessage(raw, messages, request, verifier, names, reader.wantsRaw);
      messages++;
      if (messages === 1) expireOption = expireFromAnswer(message.edns);
      const answers = message.answers;
      const count = head ? head.ancount : answers.length;
      if (messages === 1 && count === 0) throw reader.inconsistent("the first message holds no records");
      records += count;
      // An AXFR's closing SOA repeats its first record: the zone holds one fewer than the stream.
      if ((kind === "axfr" ? records - 1 : records) > limits.maxRecords) {
        // Stopped at the message that crossed the limit: how many more would have come is not known.
        const whose = limits.whose?.records ?? "the service's limit (BACKSTOP_XFR_MAX_RECORDS)";
        const carries = kind === "axfr" ? `the zone has more than ${formatCount(limits.maxRecords)} records` : `the ${names.what} carries more than ${formatCount(limits.maxRecords)} records`;
        throw new TransferError("limit", `${carries} (our ${names.what} of ${zone} from ${peer} stopped at ${formatCount(records)}); ${whose} is ${formatCount(limits.maxRecords)}`);
      }
      if (head) await reader.rawAnswers(raw, head);
      for (let i = 0; i < answers.length; i++) {
        if (reader.done) throw reader.inconsistent("records follow the closing SOA");
        await reader.step(answers[i]!, i === answers.length - 1, answers.length);
      }
    }
    verifierFinish(verifier);
    if (reader.style === "ixfr" && limits.currentRecords !== undefined) {
      const after = limits.currentRecords - reader.deleted + reader.added;
      if (after > limits.maxRecords) {
        const whose = limits.whose?.records ?? "the service's limit (BACKSTOP_XFR_MAX_RECORDS)";
        throw new TransferError(
          "limit",
          `the zone would have ${formatCount(after)} records after ${peer}'s IXFR to serial ${reader.firstSerial} (${formatCount(limits.currentRecords)} served, ${formatCount(reader.deleted)} deleted, ${formatCount(reader.added)} added); ${whose} is ${formatCount(limits.maxRecords)}`,
        );
      }
    }
    if (reader.style !== "up-to-date") await reader.sinkCall(() => sink.end());
    return {
      style: reader.style,
      soa: reader.first!,
      serial: reader.firstSerial,
      records,
      bytes: incoming.bytes,
      messages,
      changesets: reader.changesets,
      durationMs: Date.now() - started,
      expireOption,
    };
  } finally {
    await incoming.close();
  }
}

/** "1 s", "2.5 s": a timeout in the words of an error. */
function formatSeconds(ms: number): string {
  return `${ms % 1000 === 0 ? ms / 1000 : (ms / 1000).toFixed(1)} s`;
}

/** The socket's side of a transfer: frames in, as fast as the primary sends them. */
interface Incoming {
  /** Arms the idle timeout and sends the request. */
  send(wire: Uint8Array): void;
  /** The next message, or undefined once the primary closed the connection. */
  next(): Promise<Uint8Array | undefined>;
  /** Octets of DNS messages received so far. */
  readonly bytes: number;
  /** Stops the timers, closes the socket, removes the spool. */
  close(): Promise<void>;
}

/**
 * Reads the socket as fast as the primary sends (primaries drop slow readers); what the sink has not taken
 * yet waits in a bounded memory queue, then on disk (frame-spool.ts). The idle timeout measures the
 * primary's silence, the total timeout the whole transfer; either, a byte limit, broken framing, a socket
 * error or `signal` fails the queue and closes the socket.
 */
function receive(socket: Socket, names: TransferNames, limits: XfrLimits, signal: AbortSignal | undefined, spoolDir: string | undefined): Incoming {
  const { zone, peer, what } = names;
  const queue = new FrameSpool({ dir: spoolDir });
  const decoder = new FrameDecoder();
  let bytes = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  const armIdle = (ms = limits.idleTimeoutMs): void => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      queue.fail(new TransferError("idle-timeout", `${peer} sent nothing for ${formatSeconds(ms)} during our ${what} of ${zone}`));
      socket.destroy();
    }, ms);
  };
  const totalTimer = setTimeout(() => {
    queue.fail(new TransferError("total-timeout", `our ${what} of ${zone} from ${peer} took longer than ${Math.round(limits.totalTimeoutMs / 1000)} s`));
    socket.destroy();
  }, limits.totalTimeoutMs);
  const onAbort = (): void => {
    const reason = signal?.reason instanceof Error ? signal.reason.message : "the service is shutting down";
    queue.fail(new TransferError("aborted", `our ${what} of ${zone} from ${peer} was stopped: ${reason}`));
    socket.destroy();
  };
  signal?.addEventListener("abort", onAbort);
  socket.on("data", (data: Buffer) => {
    armIdle(); // progress from the primary
    try {
      const frames = decoder.push(new Uint8Array(data.buffer, data.byteOffset, data.length));
      for (const f of frames) bytes += f.length;
      if (bytes > limits.maxBytes) {
        const whose = limits.whose?.bytes ?? "the service's limit (BACKSTOP_XFR_MAX_BYTES)";
        queue.fail(new TransferError("limit", `our ${what} of ${zone} from ${peer} passed ${formatCount(limits.maxBytes)} octets and was stopped; ${whose} is ${formatCount(limits.maxBytes)} octets`));
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
  // Once the primary has sent everything, spooled messages may take as long as the sink needs (the total
  // timeout still applies).
  const ended = (): void => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = undefined;
    queue.end();
  };
  socket.on("end", ended);
  socket.on("close", ended);

  return {
    send(wire) {
      armIdle(Math.min(limits.firstMessageTimeoutMs ?? limits.idleTimeoutMs, limits.idleTimeoutMs));
      socket.write(frame(wire));
    },
    next: () => queue.next(),
    get bytes() {
      return bytes;
    },
    async close() {
      if (idleTimer) clearTimeout(idleTimer);
      clearTimeout(totalTimer);
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      await queue.close();
    },
  };
}

/**
 * One message of the reply, decoded and checked: TSIG (RFC 8945 §5.3.1), then our ID, QR, opcode and
 * question (the question may be omitted after the first: RFC 5936 §2.2.1), NOERROR and no TC.
 * `before` is the number of messages already read. With `rawBody` (a later message of an AXFR body going
 * to a stream sink), a message of answers and a TSIG is only walked (`head`), its answers left in the wire.
 */
async function readMessage(
  raw: Uint8Array,
  before: number,
  request: Request,
  verifier: TsigStreamVerifier | undefined,
  names: TransferNames,
  rawBody = false,
): Promise<{ message: Message; head?: RawHead | undefined }> {
  const { zone, peer, what } = names;
  let message: Message;
  let head: RawHead | undefined;
  try {
    head = rawBody && before > 0 ? readRawHead(raw) : undefined;
    message = head ? head.message : decodeMessage(raw);
  } catch (err) {
    throw new TransferError("malformed", `${peer} sent an unreadable message ${before + 1} in our ${what} of ${zone}: ${(err as Error).message}`);
  }
  if (verifier) {
    try {
      // The decoder already found the TSIG record: passing its offset spares the verifier a walk.
      await verifier.next(raw, head ? head.tsigOffset : (message.tsig?.offset ?? null));
    } catch (err) {
      if (err instanceof TsigError) {
        // An unsigned error answer (REFUSED, NOTIMP…) to a signed request is best reported as the rcode;
        // but a bare NOTAUTH is PowerDNS refusing our key (the verifier's words say so), as a bootstrap's
        // first AXFR meets it where a zone we hold meets it on the SOA query.
        if (err.code === "unsigned" && before === 0 && message.rcode !== Rcode.NOERROR && message.rcode !== Rcode.NOTAUTH) throw rcodeError(peer, message.rcode, `${what} of ${zone}`);
        throw new TransferError("tsig", err.message, { tsig: err });
      }
      throw err;
    }
  }
  checkReply(message, request, peer, before > 0);
  if (message.rcode !== Rcode.NOERROR) throw rcodeError(peer, message.rcode, `${what} of ${zone}`);
  if (message.flags.tc) throw new TransferError("malformed", `${peer} set TC on a TCP message of our ${what} of ${zone}`);
  return { message, head };
}

/**
 * The reply read as a sequence of records through the state machine drawn in the module comment, one
 * `on…` step per state. It hands the sink what it reads, in chunks; it knows nothing of the socket.
 */
class ReplyReader {
  private state: State = "first";
  /** The opening SOA record, and its serial. */
  first: ResourceRecord | undefined;
  firstSerial = 0;
  /** The SOA the current changeset leads to. */
  private changesetTo: ResourceRecord | undefined;
  changesets = 0;
  /** IXFR: records the changesets delete and add (their SOAs aside, which only replace the zone's). */
  deleted = 0;
  added = 0;
  style: XfrResult["style"];
  private chunk: ResourceRecord[] = [];
  /** A whole zone going to a stream sink: its records as stream bytes (`axfr-raw.ts`), else undefined. */
  private builder: StreamBuilder | undefined;
  /** Set by `rawCheck` when the record it saw was the closing SOA. */
  private closing = false;

  constructor(
    private readonly kind: "axfr" | "ixfr",
    private readonly names: TransferNames,
    /** Our serial, for IXFR. */
    private readonly ourSerial: number | undefined,
    private readonly sink: XfrSink,
    private readonly chunkRecords: number,
    private readonly guard: NameGuard,
  ) {
    this.style = kind === "axfr" ? "axfr" : "ixfr";
  }

  /** True once the closing SOA (or the single up-to-date SOA) was read. */
  get done(): boolean {
    return this.state === "done";
  }

  /** True while the reply is a zone's body going to a stream sink: messages need not be decoded. */
  get wantsRaw(): boolean {
    return this.state === "axfr-body" && this.builder !== undefined;
  }

  /** A whole zone follows: to the sink as stream bytes when it takes them. */
  private async beginFull(soa: ResourceRecord): Promise<void> {
    await this.sinkCall(() => this.sink.beginFull(soa));
    if (this.sink.rawRecords) this.builder = new StreamBuilder(this.names.zone, this.sink.rawChunkBytes ?? 1024 * 1024);
  }

  /** The answers of a message only walked so far (`readRawHead`), read straight into the stream. */
  async rawAnswers(wire: Uint8Array, head: RawHead): Promise<void> {
    const builder = this.builder!;
    let at = head.answersAt;
    for (let i = 0; i < head.ancount; i++) {
      if (this.done) throw this.inconsistent("records follow the closing SOA");
      try {
        at = builder.readWire(wire, at, this.rawCheck);
      } catch (err) {
        if (!(err instanceof WireError)) throw err;
        const { zone, peer, what } = this.names;
        throw new TransferError("malformed", `${peer} sent an unreadable record in our ${what} of ${zone}: ${err.message}`);
      }
      const chunk = builder.takeCut();
      if (chunk) await this.sendRaw(chunk.stream, chunk.records);
      if (this.closing) {
        await this.flush();
        this.state = "done";
      }
    }
  }

  /**
   * The checks `step` and `onAxfrBody` make on a record object, on a record of the stream: class IN, the
   * closing SOA (false: not to be stored), in the zone, the per-name guards.
   */
  private readonly rawCheck = (rr: RawRecordView): boolean => {
    if (rr.class !== RRClass.IN) {
      throw this.inconsistent(`record ${ownerName(rr)} ${typeToString(rr.type)} has class ${classToString(rr.class)}, but the zone is class IN`);
    }
    if (rr.type === RRType.SOA && rr.atApex) {
      const { peer, what, zone } = this.names;
      const soa: ResourceRecord = { name: ownerName(rr), type: rr.type, class: rr.class, ttl: 0, rdata: rr.rdata.slice() };
      if (!sameSoa(soa, this.first!)) {
        throw new TransferError("bad-axfr", `${peer}'s ${what} of ${zone} began with SOA serial ${this.firstSerial} but ended with serial ${this.serialOf(soa)} (RFC 5936 §2.2 requires the same SOA)`);
      }
      this.closing = true;
      return false;
    }
    if (!rr.inZone) throw this.inconsistent(`record ${ownerName(rr)} lies outside the zone`);
    this.checked = rr;
    this.guard.checkRun(rr.newOwner, rr.type, this.checkedOwner);
    return true;
  };

  /** The record `rawCheck` is looking at, and its owner for the guard's error (one function, not one per record). */
  private checked: RawRecordView | undefined;
  private readonly checkedOwner = (): Name => ownerName(this.checked!);

  private sendRaw(stream: Uint8Array, records: number): Promise<void> {
    return this.sinkCall(() => this.sink.rawRecords!(stream, records));
  }

  /** One record of the reply; `lastOfMessage` and `messageRecords` tell a single-SOA reply (RFC 1995 §4). */
  step(rr: ResourceRecord, lastOfMessage: boolean, messageRecords: number): Promise<void> {
    // A zone has one class (RFC 1034 §4.3.2: data "for a single class"); we ask for class IN, so a record
    // of another class (CH, HS…) is not the zone's data: the whole reply is refused, nothing is stored.
    if (rr.class !== RRClass.IN) {
      throw this.inconsistent(`record ${rr.name} ${typeToString(rr.type)} has class ${classToString(rr.class)}, but the zone is class IN`);
    }
    switch (this.state) {
      case "first":
        return this.onFirstSoa(rr, lastOfMessage, messageRecords);
      case "ixfr-second":
        return this.onIxfrSecond(rr, lastOfMessage, messageRecords);
      case "axfr-body":
        return this.onAxfrBody(rr);
      case "ixfr-deletes":
        return this.onIxfrDeletions(rr);
      case "ixfr-adds":
        return this.onIxfrAdditions(rr);
      case "done":
        throw this.inconsistent(`records follow the closing SOA`);
    }
  }

  /** The reply's first record: the zone's SOA, whose serial is the primary's. */
  private async onFirstSoa(rr: ResourceRecord, lastOfMessage: boolean, messageRecords: number): Promise<void> {
    const { zone, peer } = this.names;
    if (rr.type !== RRType.SOA || !rr.name.equals(zone)) throw this.inconsistent(`the reply does not begin with the zone's SOA (first record: ${rr.name} type ${rr.type})`);
    this.first = rr;
    this.firstSerial = this.serialOf(rr);
    const ourSerial = this.ourSerial;
    if (this.kind === "axfr") {
      await this.beginFull(rr);
      this.state = "axfr-body";
    } else if (messageRecords === 1 && lastOfMessage && ourSerial !== undefined && !Serial.of(this.firstSerial).isNewerThan(ourSerial)) {
      // RFC 1995 §4: "If the server's copy is not newer…, a single SOA record is returned."
      this.style = "up-to-date";
      this.state = "done";
    } else if (messageRecords === 1 && lastOfMessage) {
      // A single SOA that is newer than ours: the primary keeps no history to send (PowerDNS does
      // this). Not "up to date" (RFC 1995 §2); the caller falls back to AXFR.
      throw new TransferError(
        "inconsistent-ixfr",
        `${peer} answered our IXFR of ${zone} from serial ${ourSerial} with only its SOA (serial ${this.firstSerial}): it has no changes to send`,
      );
    } else {
      this.state = "ixfr-second";
    }
  }

  /** IXFR's second record: our SOA opens the first changeset; anything else makes the reply an AXFR. */
  private async onIxfrSecond(rr: ResourceRecord, lastOfMessage: boolean, messageRecords: number): Promise<void> {
    const ourSerial = this.ourSerial;
    if (rr.type === RRType.SOA && ourSerial !== undefined && this.serialOf(rr) === ourSerial && this.serialOf(rr) !== this.firstSerial) {
      this.style = "ixfr";
      await this.sinkCall(() => this.sink.beginIncremental(this.first!));
      await this.sinkCall(() => this.sink.beginChangeset(rr));
      this.changesets++;
      this.state = "ixfr-deletes";
      return;
    }
    // Anything else: an AXFR-style reply (RFC 1995 §4); the second record is the zone's first.
    this.style = "axfr";
    await this.beginFull(this.first!);
    this.state = "axfr-body";
    return this.step(rr, lastOfMessage, messageRecords);
  }

  /** The zone's records, until the opening SOA comes again (RFC 5936 §2.2). */
  private async onAxfrBody(rr: ResourceRecord): Promise<void> {
    const { zone, peer, what } = this.names;
    if (this.builder) {
      const chunk = this.builder.readRecord(rr.name, rr.type, rr.class, rr.ttl, rr.rdata, this.rawCheck);
      if (chunk) await this.sendRaw(chunk.stream, chunk.records);
      if (this.closing) {
        await this.flush();
        this.state = "done";
      }
      return;
    }
    if (rr.type === RRType.SOA && rr.name.equals(zone)) {
      if (!sameSoa(rr, this.first!)) {
        throw new TransferError("bad-axfr", `${peer}'s ${what} of ${zone} began with SOA serial ${this.firstSerial} but ended with serial ${this.serialOf(rr)} (RFC 5936 §2.2 requires the same SOA)`);
      }
      await this.flush();
      this.state = "done";
      return;
    }
    if (!rr.name.isSubdomainOf(zone)) throw this.inconsistent(`record ${rr.name} lies outside the zone`);
    this.guard.check(rr);
    return this.add(rr);
  }

  /** A changeset's deletions, until the SOA it leads to, which opens its additions (RFC 1995 §4). */
  private async onIxfrDeletions(rr: ResourceRecord): Promise<void> {
    if (rr.type !== RRType.SOA) return this.add(rr);
    await this.flush();
    const fromSerial = this.changesetTo ? this.serialOf(this.changesetTo) : this.ourSerial!;
    const toSerial = this.serialOf(rr);
    if (!Serial.of(toSerial).isNewerThan(fromSerial)) throw this.inconsistent(`a changeset goes from serial ${fromSerial} to ${toSerial}, not forwards`);
    this.changesetTo = rr;
    await this.sinkCall(() => this.sink.beginAdditions(rr));
    this.state = "ixfr-adds";
  }

  /** A changeset's additions, until the next changeset's first SOA or the closing SOA. */
  private async onIxfrAdditions(rr: ResourceRecord): Promise<void> {
    if (rr.type !== RRType.SOA) {
      this.guard.check(rr);
      return this.add(rr);
    }
    this.guard.reset();
    await this.flush();
    const serial = this.serialOf(rr);
    const toSerial = this.serialOf(this.changesetTo!);
    if (serial === this.firstSerial && toSerial === this.firstSerial) {
      if (!sameSoa(rr, this.first!)) throw this.inconsistent(`the closing SOA differs from the opening one`);
      this.state = "done";
      return;
    }
    if (serial !== toSerial) throw this.inconsistent(`a changeset starts at serial ${serial}, but the previous one ended at ${toSerial}`);
    await this.sinkCall(() => this.sink.beginChangeset(rr));
    this.changesets++;
    this.state = "ixfr-deletes";
  }

  /**
   * A record of the zone or of a changeset, into the chunk the sink takes next; a promise only when the
   * chunk is full and goes to the sink (a million records need not cost a million promises).
   */
  private add(rr: ResourceRecord): Promise<void> | undefined {
    if (this.state === "ixfr-deletes") this.deleted++;
    else if (this.state === "ixfr-adds") this.added++;
    this.chunk.push(rr);
    return this.chunk.length >= this.chunkRecords ? this.flush() : undefined;
  }

  private async flush(): Promise<void> {
    const rest = this.builder?.finish();
    if (rest) await this.sendRaw(rest.stream, rest.records);
    if (this.chunk.length === 0) return;
    const out = this.chunk;
    this.chunk = [];
    await this.sinkCall(() => this.sink.records(out));
  }

  /** A sink call, whose failure is a TransferError("sink") unless it already is one. */
  async sinkCall(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (err instanceof TransferError) throw err;
      throw new TransferError("sink", `storing our ${this.names.what} of ${this.names.zone} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  private serialOf(rr: ResourceRecord): number {
    return soaFields(rr, this.names.peer).serial;
  }

  /** A reply that breaks the rules: an inconsistent IXFR (the caller falls back to AXFR) or a bad AXFR. */
  inconsistent(why: string): TransferError {
    const { zone, peer, what } = this.names;
    return new TransferError(this.kind === "ixfr" && this.style === "ixfr" ? "inconsistent-ixfr" : "bad-axfr", `${peer}'s ${what} of ${zone}: ${why}`);
  }
}

/**
 * BIND 9.18.28's guards against names with huge RRsets or many types (CVE-2024-1737: `max-records-per-type`,
 * `max-types-per-name`, 100 each by default), counted over each run of records with one owner: primaries
 * send a name's records together (knotd, BIND, NSD and PowerDNS do), so a run is the name. A primary that
 * scattered one name's records through the stream would be counted per run; the counts need memory for one
 * name only, whatever the zone's size. For an IXFR, a changeset's additions are counted: what the name holds
 * after the change is not known here.
 */
class NameGuard {
  private owner: Name | undefined;
  /**
   * Records of each type in the current run (indexed by type), and the types seen in it, to clear at the next
   * owner: a Map cleared per owner allocated a new table each time (~120 MB of garbage per million records).
   */
  private readonly perType = new Uint32Array(0x10000);
  /** (An array emptied by `length = 0` gives its storage back, and the next push allocates it again.) */
  private readonly types = new Uint16Array(0x10000);
  private typeCount = 0;

  constructor(
    private readonly limits: Pick<XfrLimits, "maxRecordsPerType" | "maxTypesPerName">,
    private readonly names: TransferNames,
  ) {}

  check(rr: ResourceRecord): void {
    const { maxRecordsPerType, maxTypesPerName } = this.limits;
    if (maxRecordsPerType === undefined && maxTypesPerName === undefined) return;
    const newOwner = !this.owner || !rr.name.equals(this.owner);
    if (newOwner) this.owner = rr.name;
    this.checkRun(newOwner, rr.type, () => rr.name);
  }

  /** One record of a run: `newOwner` starts a new run; `name` gives the owner for an error. */
  checkRun(newOwner: boolean, type: number, name: () => Name): void {
    const { maxRecordsPerType, maxTypesPerName } = this.limits;
    if (maxRecordsPerType === undefined && maxTypesPerName === undefined) return;
    if (newOwner) this.clearCounts();
    const n = ++this.perType[type]!;
    if (n === 1) this.types[this.typeCount++] = type;
    const { zone, peer, what } = this.names;
    if (maxRecordsPerType !== undefined && n > maxRecordsPerType) {
      throw new TransferError(
        "limit",
        `${name()} has more than ${formatCount(maxRecordsPerType)} ${typeToString(type)} records in ${peer}'s ${what} of ${zone}; the limit per RRset is ${formatCount(maxRecordsPerType)} (BACKSTOP_XFR_MAX_RECORDS_PER_TYPE, BIND's max-records-per-type)`,
      );
    }
    if (maxTypesPerName !== undefined && this.typeCount > maxTypesPerName) {
      throw new TransferError(
        "limit",
        `${name()} has more than ${formatCount(maxTypesPerName)} record types in ${peer}'s ${what} of ${zone}; the limit per name is ${formatCount(maxTypesPerName)} (BACKSTOP_XFR_MAX_TYPES_PER_NAME, BIND's max-types-per-name)`,
      );
    }
  }

  /** A new changeset: its additions are counted afresh. */
  reset(): void {
    this.owner = undefined;
    this.clearCounts();
  }

  private clearCounts(): void {
    for (let i = 0; i < this.typeCount; i++) this.perType[this.types[i]!] = 0;
    this.typeCount = 0;
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

/** Connects, within `timeoutMs`, or fails with "connect" ("forbidden-address" before any socket: `outbound-guard.ts`). */
function open(primary: PrimaryTarget, peer: string, what: string, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new TransferError("aborted", `not connecting to ${peer}: the service is shutting down`));
      return;
    }
    try {
      assertOutboundAllowed(primary, what);
    } catch (err) {
      reject(err);
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
