/**
 * @module A scripted primary: a UDP+TCP DNS server on loopback that plays a script written as text, so a
 * test can replay exactly what a real primary once did to us (NSD's `tpkg/` datafiles are the model). The
 * interop cases in `test/cases/` are written in this format; so are the unit tests of this module.
 *
 * The format, one directive per line (`#` starts a comment; indentation groups lines under a rule):
 *
 * ```
 * zone example.test                        the zone; relative names below are relative to it
 * version 1 zone-1.zone                    a version of the zone, read as zone text (first record: its SOA)
 * generate 1 1-5000 r$ 300 TXT "row $"      add records to a version, BIND's $GENERATE way ($ = the number)
 * key xfr.key. hmac-sha256 <base64>        a TSIG key: a query signed with it is verified, its replies signed
 *
 * on SOA over udp                          a rule: the next query that fits it (played once unless told)
 *     soa 1                                one message: version 1's SOA
 * on AXFR                                  QTYPE, then any of: over udp|tcp, from <serial> (IXFR: the serial
 *     zone 1 per 100                          the query's authority SOA names), signed|unsigned, once|twice|
 *     notify 2 over udp                       <n> times|always
 * on IXFR from 1
 *     message                              one message; the lines below it are its answer section, as zone
 *         soa 2                               text records, or `soa <version>` for a version's SOA
 *         soa 1
 *         old 300 A 192.0.2.1
 *         soa 2
 *         soa 2
 * ```
 *
 * Steps, played in order for the query a rule matched:
 * - `soa <v>`: one message holding version v's SOA.
 * - `zone <v> [per <n>]`: version v AXFR-style (SOA, records, SOA), n answer records a message (default 100).
 * - `message [<RCODE>] [unsigned] [no-aa] [wrong-id]` with its records indented below (none: an empty answer);
 *   a record there may name another class than IN (`txt CH TXT "x"`), as a hostile primary could send.
 * - `rcode <RCODE> [unsigned]`: an empty reply with that RCODE.
 * - `tsig-error <BADSIG|BADKEY|BADTIME> [clock +<s>|-<s>]`: NOTAUTH with a TSIG record carrying that error
 *   and no MAC (unsigned, as nsd 4.6 sends even BADTIME); Time Signed and, for BADTIME, Other Data are
 *   the primary's clock, shifted by the given seconds. The query must be signed.
 * - `pause <ms>`: wait before the next step.
 * - `close`: close the TCP connection (FIN) and play nothing more for it.
 * - `silence`: send nothing for this query.
 * - `drop-if-blocked <ms>`: from here on, close the connection when a write waits longer than ms for the
 *   reader to make room (knotd's TCP I/O timeout does this to a client that stops reading).
 * - `notify [<v>] [over udp|tcp]`: send a NOTIFY for the zone to the secondary (`notifyTo`), carrying
 *   version v's SOA when v is given (PowerDNS sends none). Its reply is not awaited.
 *
 * Rules are tried in file order; the first that fits and has plays left is played. A query no rule fits is
 * logged as unexpected and gets no answer. Replies carry the query's ID and question, QR and AA; when the
 * query was signed with a known key, every message is signed (one TSIG stream, RFC 8945 §5.3.1) unless
 * marked `unsigned`.
 *
 * A scripted secondary (for the xfr-out tests to come) reads the same text the other way round: each
 * rule's header is the query to send (QTYPE, transport, `from <serial>` as the authority SOA, `signed`
 * with the script's key), and its steps are the replies to expect in order (`soa`/`zone`/`message` as
 * messages compared record by record, `rcode` as the reply's RCODE, `close` as the server closing,
 * `silence` as no reply within the step's timeout). `parseScript` already gives that direction-neutral
 * form (`Exchange`: a query and its steps); only the player would be new.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from "node:dgram";
import { EventEmitter } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { classFromString, Opcode, Rcode, RRClass, RRType, typeFromString, typeToString } from "../../dns/constants.ts";
import { noFlags } from "../../dns/header.ts";
import { nodeHmac } from "../../dns/hmac.node.ts";
import { decodeMessage, encodeMessage, type Message, type ResourceRecord } from "../../dns/message.ts";
import { Name } from "../../dns/name.ts";
import { soa as soaCodec } from "../../dns/rdata/soa.ts";
import { parseTsigAlgorithm, type TsigAlgorithm } from "../../dns/tsig/algorithm.ts";
import { prepareTsigKey, type TsigKey } from "../../dns/tsig/key.ts";
import { findTsig, timeBytes, writeTsigRecord } from "../../dns/tsig/record.ts";
import { TsigStreamSigner } from "../../dns/tsig/sign.ts";
import { verifyRequest, type VerifiedRequest } from "../../dns/tsig/verify.ts";
import { FrameDecoder, frame } from "../../dns/wire/tcp-framing.ts";
import { WireWriter } from "../../dns/wire/writer.ts";
import { parseZoneText } from "../../dns/zonefile/parser.ts";

/** What a rule matches: the query as a client sends it. */
export interface QueryMatch {
  qtype: number;
  transport?: "udp" | "tcp";
  /** IXFR: the serial of the SOA in the query's authority section. */
  fromSerial?: number;
  signed?: boolean;
}

export type Step =
  | { kind: "message"; line: number; rcode: number; records: ResourceRecord[]; signed: boolean; aa: boolean; wrongId: boolean }
  | { kind: "zone"; line: number; version: string; per: number }
  | { kind: "tsig-error"; line: number; error: number; clockOffsetS: number }
  | { kind: "pause"; line: number; ms: number }
  | { kind: "close"; line: number }
  | { kind: "silence"; line: number }
  | { kind: "drop-if-blocked"; line: number; ms: number }
  | { kind: "notify"; line: number; version?: string; transport: "udp" | "tcp" };

/** One rule: a query and what answers it. */
export interface Exchange {
  line: number;
  /** The rule's header as written, for logs and messages. */
  text: string;
  query: QueryMatch;
  /** How many queries it answers. */
  times: number | "always";
  steps: Step[];
}

export interface KeySpec {
  name: string;
  algorithm: TsigAlgorithm;
  /** Base64, as in every server's configuration. */
  secret: string;
}

export interface Script {
  zone: Name;
  versions: Map<string, ResourceRecord[]>;
  keys: KeySpec[];
  exchanges: Exchange[];
}

export class ScriptError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly file?: string,
  ) {
    super(`${file ?? "script"}:${line}: ${message}`);
  }
}

/** Reads a file the script names (a version's zone text), relative to the script. */
export type ScriptFiles = (name: string) => string;

const RCODES = new Map<string, number>(Object.entries(Rcode));

/**
 * Parses a script. `files` reads the zone-text files its `version` lines name.
 * @throws ScriptError naming the line.
 */
export function parseScript(text: string, files: ScriptFiles, file?: string): Script {
  let zone: Name | undefined;
  const versions = new Map<string, ResourceRecord[]>();
  const keys: KeySpec[] = [];
  const exchanges: Exchange[] = [];
  let message: Extract<Step, { kind: "message" }> | undefined;
  let messageIndent = 0;
  const fail = (why: string, line: number): never => {
    throw new ScriptError(why, line, file);
  };
  const needZone = (line: number): Name => zone ?? fail("`zone <name>` must come first", line);
  const versionSoa = (label: string, line: number): ResourceRecord => {
    const records = versions.get(label) ?? fail(`no version "${label}" (declare it with \`version ${label} <file>\`)`, line);
    return records[0]!;
  };
  /** Zone text: a version's file (`source` names it in errors), or lines of the script itself. */
  const zoneText = (body: string, line: number, source?: string): ResourceRecord[] => {
    try {
      return parseZoneText(body, { origin: needZone(line), defaultTtl: 3600, file: source });
    } catch (err) {
      return fail(source === undefined ? (err as Error).message : `in ${source}: ${(err as Error).message}`, line);
    }
  };

  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = stripComment(lines[i]!);
    if (raw.trim() === "") continue;
    const indent = raw.length - raw.trimStart().length;
    const words = raw.trim().split(/\s+/);
    const head = words[0]!.toLowerCase();

    // A record line of the message above it.
    if (message && indent > messageIndent) {
      if (head === "soa" && words.length === 2) message.records.push(versionSoa(words[1]!, lineNo));
      else message.records.push(...otherClass(raw.trim(), (text) => zoneText(text, lineNo)));
      continue;
    }
    message = undefined;

    if (indent === 0) {
      switch (head) {
        case "zone":
          if (words.length !== 2) fail("usage: zone <name>", lineNo);
          zone = Name.parse(words[1]!.endsWith(".") ? words[1]! : `${words[1]}.`);
          continue;
        case "version": {
          if (words.length !== 3) fail("usage: version <label> <file>", lineNo);
          const records = zoneText(files(words[2]!), lineNo, words[2]);
          const first = records[0];
          if (!first || first.type !== RRType.SOA || !first.name.equals(needZone(lineNo))) fail(`${words[2]} must begin with the zone's SOA`, lineNo);
          versions.set(words[1]!, records);
          continue;
        }
        case "generate": {
          // generate <label> <from>-<to> <template…>
          const m = /^\s*generate\s+(\S+)\s+(\d+)-(\d+)\s+(.+)$/i.exec(raw);
          if (!m) fail("usage: generate <version> <from>-<to> <record with $>", lineNo);
          const target = versions.get(m![1]!) ?? fail(`no version "${m![1]}"`, lineNo);
          const lines: string[] = [];
          for (let n = Number(m![2]); n <= Number(m![3]); n++) lines.push(m![4]!.replaceAll("$", String(n)));
          target.push(...zoneText(lines.join("\n"), lineNo));
          continue;
        }
        case "key":
          if (words.length !== 4) fail("usage: key <name> <algorithm> <base64 secret>", lineNo);
          keys.push({ name: words[1]!, algorithm: parseTsigAlgorithm(words[2]!) ?? fail(`unknown TSIG algorithm ${words[2]}`, lineNo), secret: words[3]! });
          continue;
        case "on":
          exchanges.push(parseRule(words, raw.trim(), lineNo, fail));
          continue;
        default:
          fail(`unknown directive "${words[0]}" (zone, version, generate, key, on)`, lineNo);
      }
    }

    const rule = exchanges.at(-1) ?? fail("a step must be indented under an `on` rule", lineNo);
    const step = parseStep(words, lineNo, fail, (label) => versionSoa(label, lineNo));
    if (step.kind === "zone" && !versions.has(step.version)) fail(`no version "${step.version}"`, lineNo);
    if (step.kind === "notify" && step.version !== undefined && !versions.has(step.version)) fail(`no version "${step.version}"`, lineNo);
    rule.steps.push(step);
    if (step.kind === "message") {
      message = step;
      messageIndent = indent;
    }
  }
  return { zone: needZone(1), versions, keys, exchanges };
}

/**
 * A message's record line may name a class other than the zone's (`version CH TXT "x"`), which zone text
 * refuses: the line is parsed without it and the class set afterwards, so a script can send what a
 * hostile primary would (a record of another class inside the zone's reply).
 */
function otherClass(line: string, parse: (text: string) => ResourceRecord[]): ResourceRecord[] {
  const m = /^(\S+\s+(?:\d+\s+)?)(CH|HS|NONE|ANY|CLASS\d+)\s+(.*)$/i.exec(line);
  const cls = m ? classFromString(m[2]!) : undefined;
  if (!m || cls === undefined || cls === RRClass.IN) return parse(line);
  return parse(`${m[1]}${m[3]}`).map((rr) => ({ ...rr, class: cls }));
}

/** Drops a `#` comment: a `#` at the start or after a blank, outside quotes. */
function stripComment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "\\") i++;
    else if (c === '"') quoted = !quoted;
    else if (c === "#" && !quoted && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i);
  }
  return line;
}

function parseRule(words: string[], text: string, line: number, fail: (why: string, line: number) => never): Exchange {
  const qtype = typeFromString(words[1] ?? "") ?? fail(`usage: on <QTYPE> [over udp|tcp] [from <serial>] [signed|unsigned] [once|twice|<n> times|always]`, line);
  const query: QueryMatch = { qtype };
  let times: Exchange["times"] = 1;
  for (let k = 2; k < words.length; k++) {
    const w = words[k]!.toLowerCase();
    if (w === "over" && (words[k + 1] === "udp" || words[k + 1] === "tcp")) query.transport = words[++k] as "udp" | "tcp";
    else if (w === "from" && /^\d+$/.test(words[k + 1] ?? "")) query.fromSerial = Number(words[++k]);
    else if (w === "signed" || w === "unsigned") query.signed = w === "signed";
    else if (w === "once") times = 1;
    else if (w === "twice") times = 2;
    else if (w === "always") times = "always";
    else if (/^\d+$/.test(w) && words[k + 1] === "times") {
      times = Number(w);
      k++;
    } else fail(`unknown word "${words[k]}" in a rule`, line);
  }
  return { line, text, query, times, steps: [] };
}

function parseStep(words: string[], line: number, fail: (why: string, line: number) => never, soaOf: (label: string) => ResourceRecord): Step {
  const head = words[0]!.toLowerCase();
  const rcodeOf = (w: string | undefined): number => RCODES.get((w ?? "").toUpperCase()) ?? fail(`unknown RCODE ${w}`, line);
  const ms = (w: string | undefined): number => (/^\d+$/.test(w ?? "") ? Number(w) : fail(`${head} needs a time in milliseconds`, line));
  switch (head) {
    case "soa":
      if (words.length !== 2) fail("usage: soa <version>", line);
      return { kind: "message", line, rcode: Rcode.NOERROR, records: [soaOf(words[1]!)], signed: true, aa: true, wrongId: false };
    case "zone": {
      if (!(words.length === 2 || (words.length === 4 && words[2] === "per" && /^\d+$/.test(words[3]!)))) fail("usage: zone <version> [per <n>]", line);
      return { kind: "zone", line, version: words[1]!, per: words[3] ? Number(words[3]) : 100 };
    }
    case "message":
    case "rcode": {
      const step: Step = { kind: "message", line, rcode: Rcode.NOERROR, records: [], signed: true, aa: true, wrongId: false };
      const rest = words.slice(1);
      if (head === "rcode") step.rcode = rcodeOf(rest.shift());
      for (const w of rest) {
        if (w === "unsigned") step.signed = false;
        else if (w === "no-aa") step.aa = false;
        else if (w === "wrong-id") step.wrongId = true;
        else if (head === "message" && RCODES.has(w.toUpperCase())) step.rcode = rcodeOf(w);
        else fail(`unknown word "${w}" in ${head}`, line);
      }
      return step;
    }
    case "tsig-error": {
      const error = ["BADSIG", "BADKEY", "BADTIME"].includes((words[1] ?? "").toUpperCase()) ? rcodeOf(words[1]) : fail("usage: tsig-error <BADSIG|BADKEY|BADTIME> [clock +<seconds>]", line);
      let clockOffsetS = 0;
      if (words.length === 4 && words[2] === "clock" && /^[+-]\d+$/.test(words[3]!)) clockOffsetS = Number(words[3]);
      else if (words.length !== 2) fail("usage: tsig-error <BADSIG|BADKEY|BADTIME> [clock +<seconds>]", line);
      return { kind: "tsig-error", line, error, clockOffsetS };
    }
    case "pause":
      return { kind: "pause", line, ms: ms(words[1]) };
    case "close":
      return { kind: "close", line };
    case "silence":
      return { kind: "silence", line };
    case "drop-if-blocked":
      return { kind: "drop-if-blocked", line, ms: ms(words[1]) };
    case "notify": {
      let version: string | undefined;
      let transport: "udp" | "tcp" = "udp";
      for (let k = 1; k < words.length; k++) {
        if (words[k] === "over" && (words[k + 1] === "udp" || words[k + 1] === "tcp")) transport = words[++k] as "udp" | "tcp";
        else if (version === undefined) version = words[k];
        else fail(`unknown word "${words[k]}" in notify`, line);
      }
      return { kind: "notify", line, version, transport };
    }
    default:
      return fail(`unknown step "${words[0]}" (soa, zone, message, rcode, tsig-error, pause, close, silence, drop-if-blocked, notify)`, line);
  }
}

/** The serial of an SOA record. */
export function soaSerial(rr: ResourceRecord): number {
  return soaCodec.decode(rr.rdata).serial;
}

export interface PrimaryOptions {
  /** Where `notify` steps send NOTIFY (the secondary's DNS port). May be set after start. */
  notifyTo?: { address: string; port: number };
}

/** A running scripted primary. */
export interface ScriptedPrimary extends EventEmitter {
  address: string;
  /** The port, the same for UDP and TCP. */
  port: number;
  notifyTo: { address: string; port: number } | undefined;
  /**
   * What happened, a line each, in order: `SOA over udp: rule at line 5`, `AXFR: sent 12 messages`,
   * `AXFR: dropped the reader (a write waited 1500 ms)`, `unexpected: IXFR over tcp from 3`, `NOTIFY sent`.
   * Each line is also emitted as an `event`.
   */
  transcript: string[];
  /** Queries no rule fitted, and rules that could not be played as written. */
  unexpected(): string[];
  /** Rules with plays left (those marked `always` excepted). */
  unplayed(): string[];
  /** Resolves when a transcript line matches `pattern`; rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<string>;
  stop(): Promise<void>;
}

interface Query {
  message: Message;
  raw: Uint8Array;
  transport: "udp" | "tcp";
  verified: VerifiedRequest | undefined;
}

/** A connection's (or a datagram's) way to send one message; false once the reader was dropped. */
interface Channel {
  transport: "udp" | "tcp";
  send(wire: Uint8Array): Promise<boolean>;
  close(): void;
  blockedMs: number | undefined;
}

class Dropped extends Error {}

/** Starts `script` on 127.0.0.1, UDP and TCP on one free port. */
export async function startScriptedPrimary(script: Script, options: PrimaryOptions = {}): Promise<ScriptedPrimary> {
  const keys: TsigKey[] = [];
  for (const k of script.keys) keys.push(await prepareTsigKey(k, nodeHmac));
  const plays = script.exchanges.map((e) => (e.times === "always" ? Infinity : e.times));
  const unexpected: string[] = [];
  const transcript: string[] = [];
  const emitter = new EventEmitter();
  const sockets = new Set<Socket>();
  const note = (line: string): void => {
    transcript.push(line);
    emitter.emit("event", line);
  };

  const describe = (q: Query): string => {
    const question = q.message.questions[0];
    const from = q.message.authorities.find((rr) => rr.type === RRType.SOA);
    return `${question ? typeToString(question.type) : "(no question)"} over ${q.transport}${from ? ` from ${soaSerial(from)}` : ""}${q.verified ? " signed" : ""}`;
  };
  const fits = (m: QueryMatch, q: Query): boolean => {
    const question = q.message.questions[0];
    if (!question || question.type !== m.qtype || !question.name.equals(script.zone)) return false;
    if (m.transport && m.transport !== q.transport) return false;
    if (m.signed !== undefined && m.signed !== (q.message.tsig !== undefined)) return false;
    if (m.fromSerial !== undefined) {
      const from = q.message.authorities.find((rr) => rr.type === RRType.SOA);
      if (!from || soaSerial(from) !== m.fromSerial) return false;
    }
    return true;
  };

  const { tcp, udp, port } = await bindBoth((socket) => serveTcp(socket));
  const primary = Object.assign(emitter, {
    address: "127.0.0.1",
    port,
    notifyTo: options.notifyTo,
    transcript,
    unexpected: () => [...unexpected],
    unplayed: () => script.exchanges.filter((e, i) => plays[i]! > 0 && e.times !== "always").map((e) => `line ${e.line}: ${e.text}`),
    waitFor: (pattern: RegExp, timeoutMs: number) =>
      new Promise<string>((resolve, reject) => {
        const seen = transcript.find((l) => pattern.test(l));
        if (seen) return resolve(seen);
        const timer = setTimeout(() => {
          emitter.off("event", listener);
          reject(new Error(`the scripted primary did not log ${pattern} within ${timeoutMs} ms; it logged: ${transcript.join(" | ")}`));
        }, timeoutMs);
        const listener = (line: string): void => {
          if (!pattern.test(line)) return;
          clearTimeout(timer);
          emitter.off("event", listener);
          resolve(line);
        };
        emitter.on("event", listener);
      }),
    stop: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all([new Promise((r) => tcp.close(r)), new Promise<void>((r) => udp.close(() => r()))]);
    },
  }) as ScriptedPrimary;

  udp.on("message", (msg: Buffer, rinfo: RemoteInfo) => {
    const raw = new Uint8Array(msg);
    const channel: Channel = {
      transport: "udp",
      blockedMs: undefined,
      send: (wire) =>
        new Promise((resolve) => {
          try {
            udp.send(wire, rinfo.port, rinfo.address, (err) => resolve(!err));
          } catch {
            resolve(false); // stopped meanwhile
          }
        }),
      close: () => undefined,
    };
    void handle(raw, channel);
  });

  function serveTcp(socket: Socket): void {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    const decoder = new FrameDecoder();
    let chain = Promise.resolve();
    const channel: Channel = {
      transport: "tcp",
      blockedMs: undefined,
      send: (wire) =>
        new Promise((resolve, reject) => {
          if (socket.destroyed) return resolve(false);
          const limit = channel.blockedMs;
          const timer =
            limit === undefined
              ? undefined
              : setTimeout(() => {
                  socket.destroy();
                  reject(new Dropped(`a write waited ${limit} ms`));
                }, limit);
          socket.write(frame(wire), (err) => {
            clearTimeout(timer);
            resolve(!err);
          });
        }),
      close: () => socket.end(),
    };
    socket.on("data", (data: Buffer) => {
      let frames: Uint8Array[];
      try {
        frames = decoder.push(new Uint8Array(data.buffer, data.byteOffset, data.length));
      } catch {
        socket.destroy();
        return;
      }
      // One query at a time per connection, in order.
      for (const f of frames) chain = chain.then(() => handle(f, channel));
    });
  }

  async function handle(raw: Uint8Array, channel: Channel): Promise<void> {
    let message: Message;
    try {
      message = decodeMessage(raw);
    } catch {
      note(`unreadable message over ${channel.transport}`);
      return;
    }
    if (message.flags.qr) return; // the reply to one of our NOTIFYs
    let verified: VerifiedRequest | undefined;
    try {
      verified = await verifyRequest(raw, keys);
    } catch (err) {
      note(`TSIG of a query failed: ${(err as Error).message}`);
    }
    const query: Query = { message, raw, transport: channel.transport, verified };
    const index = script.exchanges.findIndex((e, i) => plays[i]! > 0 && fits(e.query, query));
    if (index < 0) {
      unexpected.push(describe(query));
      note(`unexpected: ${describe(query)}`);
      return;
    }
    plays[index]!--;
    const exchange = script.exchanges[index]!;
    const qname = typeToString(exchange.query.qtype);
    note(`${describe(query)}: rule at line ${exchange.line}`);
    try {
      const sent = await play(exchange, query, channel);
      note(`${qname}: sent ${sent} message${sent === 1 ? "" : "s"}`);
    } catch (err) {
      if (err instanceof Dropped) return note(`${qname}: dropped the reader (${err.message})`);
      // A script that cannot be played as written (a notify with nowhere to go…): the case must fail.
      unexpected.push(`error in the rule at line ${exchange.line}: ${(err as Error).message}`);
      note(`error in the rule at line ${exchange.line}: ${(err as Error).message}`);
    }
  }

  /** Plays one rule's steps for `query`; returns how many messages went out. */
  async function play(exchange: Exchange, query: Query, channel: Channel): Promise<number> {
    const signer = query.verified ? new TsigStreamSigner(query.verified.key, query.verified.mac, { keyName: query.verified.record.keyName }) : undefined;
    let sent = 0;
    const send = async (records: ResourceRecord[], opts: { rcode?: number; signed?: boolean; aa?: boolean; wrongId?: boolean } = {}): Promise<boolean> => {
      const flags = noFlags();
      flags.qr = true;
      flags.aa = opts.aa ?? true;
      let wire = encodeMessage({
        id: opts.wrongId ? (query.message.id + 1) & 0xffff : query.message.id,
        opcode: Opcode.QUERY,
        flags,
        rcode: opts.rcode ?? Rcode.NOERROR,
        questions: sent === 0 ? query.message.questions : [],
        answers: records,
        authorities: [],
        additionals: [],
      }).wire;
      if (signer && opts.signed !== false) wire = await signer.next(wire);
      sent++;
      return channel.send(wire);
    };
    for (const step of exchange.steps) {
      switch (step.kind) {
        case "message":
          if (!(await send(step.records, step))) return sent;
          break;
        case "zone": {
          const records = script.versions.get(step.version)!;
          const all = [...records, records[0]!];
          for (let k = 0; k < all.length; k += step.per) if (!(await send(all.slice(k, k + step.per)))) return sent;
          break;
        }
        case "tsig-error": {
          sent++;
          if (!(await channel.send(tsigErrorReply(query, step)))) return sent;
          break;
        }
        case "pause":
          await new Promise((r) => setTimeout(r, step.ms));
          break;
        case "close":
          channel.close();
          return sent;
        case "silence":
          return sent;
        case "drop-if-blocked":
          channel.blockedMs = step.ms;
          break;
        case "notify":
          await notify(step);
          break;
      }
    }
    return sent;
  }

  async function notify(step: Extract<Step, { kind: "notify" }>): Promise<void> {
    const to = primary.notifyTo;
    if (!to) throw new Error(`line ${step.line}: notify, but the scripted primary was not told where the secondary listens`);
    const flags = noFlags();
    flags.aa = true;
    const wire = encodeMessage({
      id: Math.floor(Math.random() * 0x10000),
      opcode: Opcode.NOTIFY,
      flags,
      rcode: 0,
      questions: [{ name: script.zone, type: RRType.SOA, class: RRClass.IN }],
      answers: step.version === undefined ? [] : [script.versions.get(step.version)![0]!],
      authorities: [],
      additionals: [],
    }).wire;
    if (step.transport === "udp") {
      await new Promise<void>((resolve) => {
        try {
          udp.send(wire, to.port, to.address, () => resolve());
        } catch {
          resolve(); // stopped meanwhile
        }
      });
    } else {
      // knotd sends NOTIFY over TCP: one connection, closed once the reply came or the secondary closed (2 s at most).
      await new Promise<void>((resolve) => {
        const s = connect({ host: to.address, port: to.port }, () => s.write(frame(wire)));
        const done = (): void => {
          clearTimeout(timer);
          s.destroy();
          resolve();
        };
        const timer = setTimeout(done, 2000);
        s.on("data", done);
        s.on("error", done);
        s.on("close", done);
      });
    }
    note(`NOTIFY sent over ${step.transport}${step.version === undefined ? "" : ` with serial ${soaSerial(script.versions.get(step.version)![0]!)}`}`);
  }

  return primary;
}

/** NOTAUTH carrying a TSIG record with `step.error` and an empty MAC (RFC 8945 §5.3.2's unsigned form). */
function tsigErrorReply(query: Query, step: Extract<Step, { kind: "tsig-error" }>): Uint8Array {
  const request = findTsig(query.raw)?.record;
  if (!request) throw new Error(`line ${step.line}: tsig-error answers a signed query, and this one is not signed`);
  const flags = noFlags();
  flags.qr = true;
  const skeleton = encodeMessage({
    id: query.message.id,
    opcode: Opcode.QUERY,
    flags,
    rcode: Rcode.NOTAUTH,
    questions: query.message.questions,
    answers: [],
    authorities: [],
    additionals: [],
  }).wire;
  const clock = Math.floor(Date.now() / 1000) + step.clockOffsetS;
  const w = new WireWriter({ initialCapacity: skeleton.length + 128 });
  w.bytes(skeleton);
  w.setU16(10, 1);
  writeTsigRecord(w, {
    keyName: request.keyName,
    algorithmName: request.algorithmName,
    timeSigned: clock,
    fudge: request.fudge,
    mac: new Uint8Array(0),
    originalId: request.originalId,
    error: step.error,
    otherData: step.error === Rcode.BADTIME ? timeBytes(clock) : new Uint8Array(0),
  });
  return w.finish();
}

/** A TCP server and a UDP socket on the same free port of 127.0.0.1. */
async function bindBoth(onConnection: (socket: Socket) => void): Promise<{ tcp: Server; udp: UdpSocket; port: number }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const tcp = createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      tcp.once("error", reject);
      tcp.listen(0, "127.0.0.1", () => resolve());
    });
    const port = (tcp.address() as { port: number }).port;
    const udp = createSocket("udp4");
    const bound = await new Promise<boolean>((resolve) => {
      udp.once("error", () => resolve(false));
      udp.bind(port, "127.0.0.1", () => resolve(true));
    });
    if (bound) return { tcp, udp, port };
    udp.close();
    await new Promise((r) => tcp.close(r));
  }
  throw new Error("no loopback port free for both UDP and TCP after 20 tries");
}
