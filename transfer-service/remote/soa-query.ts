/**
 * @module The SOA query that starts every refresh (RFC 1034 §4.3.5): over UDP, retried over TCP when the
 * reply is truncated (RFC 7766 §5), TSIG-signed when the zone has a key.
 *
 * 0. Refuse an address Backstop never sends to (`outbound-guard.ts`), before any socket exists.
 * 1. Send the query from a fresh socket (random source port) with a random ID; ignore datagrams from
 *    anyone but the primary and replies with another ID (RFC 5452 §9.1).
 * 2. No answer within `timeoutMs`: try again, `tries` times in all, then fail with "timeout".
 * 3. TC set, or REFUSED (knotd's answer over UDP for a catalog zone it generates): ask again over TCP.
 * 4. Verify TSIG before believing anything else in the reply (a forged REFUSED is as bad as a forged
 *    serial); then the rcode must be NOERROR, AA set, and the answer must hold the zone's SOA. Its EDNS
 *    EXPIRE option (RFC 7314), when it has one, comes back with the SOA.
 */
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { Rcode, RRType } from "../../dns/constants.ts";
import { decodeHeader } from "../../dns/header.ts";
import { decodeMessage, type Message, type ResourceRecord } from "../../dns/message.ts";
import type { Name } from "../../dns/name.ts";
import { soa as soaCodec } from "../../dns/rdata/soa.ts";
import { expireFromAnswer } from "../../dns/edns-expire.ts";
import { TsigError } from "../../dns/tsig/errors.ts";
import type { TsigKey } from "../../dns/tsig/key.ts";
import type { Clock } from "../../dns/tsig/time.ts";
import { verifyResponse } from "../../dns/tsig/verify.ts";
import { assertOutboundAllowed } from "./outbound-guard.ts";
import { buildRequest, checkReply, type Request } from "./request.ts";
import { FrameDecoder, frame } from "../../dns/wire/tcp-framing.ts";
import { describePeer, rcodeError, socketError, TransferError } from "./transfer-error.ts";

export interface PrimaryTarget {
  address: string;
  port: number;
  /** Sign with this key, and require the reply to be signed with it. */
  key?: TsigKey;
}

export interface SoaQueryOptions {
  timeoutMs: number;
  tries: number;
  /** The clock TSIG uses (tests inject a skewed one). */
  now?: Clock;
}

export interface SoaAnswer {
  record: ResourceRecord;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
  transport: "udp" | "tcp";
  /** The EDNS EXPIRE option of the answer (RFC 7314 §3), seconds: absent when the primary sent none. */
  expireOption?: number | undefined;
}

/** The SOA fields of an SOA record. @throws TransferError("no-soa") when its RDATA is not an SOA. */
export function soaFields(record: ResourceRecord, peer: string): Omit<SoaAnswer, "transport" | "record"> {
  try {
    const v = soaCodec.decode(record.rdata);
    return { serial: v.serial, refresh: v.refresh, retry: v.retry, expire: v.expire, minimum: v.minimum };
  } catch (err) {
    throw new TransferError("no-soa", `${peer} sent an unreadable SOA record: ${(err as Error).message}`);
  }
}

export async function querySoa(zone: Name, primary: PrimaryTarget, options: SoaQueryOptions): Promise<SoaAnswer> {
  assertOutboundAllowed(primary, `SOA query for ${zone}`);
  const peer = describePeer(primary.address, primary.port);
  let lastTimeout: TransferError | undefined;
  for (let attempt = 1; attempt <= Math.max(1, options.tries); attempt++) {
    const request = await buildRequest(zone, RRType.SOA, { key: primary.key, now: options.now });
    const raw = await udpExchange(request, primary, options.timeoutMs);
    if (raw === undefined) {
      lastTimeout = new TransferError("timeout", `${peer} did not answer our SOA query over UDP (${attempt} tries of ${options.timeoutMs} ms)`);
      continue;
    }
    // TC: the answer did not fit; RFC 7766 §5 says retry over TCP. TSIG on a truncated reply may be absent.
    // REFUSED: ask once more over TCP too. knotd refuses every UDP query for a catalog zone it generates
    // (RFC 9432) and answers its SOA over TCP, where its consumers transfer it anyway; a primary that
    // refuses us outright refuses over TCP as well, and that answer is the one reported.
    const truncated = raw.length >= 4 && (raw[2]! & 0x02) !== 0;
    const refused = raw.length >= 4 && (raw[3]! & 0x0f) === Rcode.REFUSED;
    if (truncated || refused) {
      const tcpRequest = await buildRequest(zone, RRType.SOA, { key: primary.key, now: options.now });
      const tcpRaw = await tcpExchange(tcpRequest, primary, options.timeoutMs);
      return interpret(tcpRaw, tcpRequest, peer, "tcp", options);
    }
    return interpret(raw, request, peer, "udp", options);
  }
  throw lastTimeout!;
}

async function interpret(
  raw: Uint8Array,
  request: Request,
  peer: string,
  transport: "udp" | "tcp",
  options: SoaQueryOptions,
): Promise<SoaAnswer> {
  if (request.key && request.mac) {
    try {
      await verifyResponse(raw, request.key, request.mac, { now: options.now, peer: `the primary ${peer}` });
    } catch (err) {
      if (err instanceof TsigError) throw new TransferError("tsig", err.message, { tsig: err });
      throw err;
    }
  }
  let reply: Message;
  try {
    reply = decodeMessage(raw);
  } catch (err) {
    throw new TransferError("malformed", `${peer} sent an unreadable reply to our SOA query: ${(err as Error).message}`);
  }
  checkReply(reply, request, peer, false);
  if (reply.rcode !== Rcode.NOERROR) throw rcodeError(peer, reply.rcode, `SOA query for ${request.zone}`);
  if (!reply.flags.aa) {
    throw new TransferError("no-soa", `${peer} is not authoritative for ${request.zone} (AA clear in its SOA answer)`);
  }
  const record = reply.answers.find((rr) => rr.type === RRType.SOA && rr.name.equals(request.zone));
  if (!record) throw new TransferError("no-soa", `${peer}'s answer to our SOA query holds no SOA for ${request.zone}`);
  return { record, ...soaFields(record, peer), transport, expireOption: expireFromAnswer(reply.edns) };
}

/** One UDP exchange; undefined on timeout. Only a datagram from the primary with our ID counts. */
function udpExchange(request: Request, primary: PrimaryTarget, timeoutMs: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(primary.address.includes(":") ? "udp6" : "udp4");
    let done = false;
    const finish = (value: Uint8Array | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(value);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.on("error", () => finish(undefined));
    socket.on("message", (msg, rinfo) => {
      if (rinfo.port !== primary.port || rinfo.address.replace(/^::ffff:/, "") !== primary.address.replace(/^::ffff:/, "")) return;
      if (msg.length < 12) return;
      const view = new Uint8Array(msg.buffer, msg.byteOffset, msg.length);
      if (decodeHeader(view).id !== request.id) return;
      finish(new Uint8Array(view));
    });
    socket.send(request.wire, primary.port, primary.address, (err) => {
      if (err) finish(undefined);
    });
  });
}

/** One TCP exchange (the SOA query retried after TC). */
function tcpExchange(request: Request, primary: PrimaryTarget, timeoutMs: number): Promise<Uint8Array> {
  const peer = describePeer(primary.address, primary.port);
  return new Promise((resolve, reject) => {
    const decoder = new FrameDecoder();
    let connected = false;
    const socket = connect({ host: primary.address, port: primary.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TransferError("timeout", `${peer} did not answer our SOA query over TCP within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("connect", () => {
      connected = true;
      socket.write(frame(request.wire));
    });
    socket.on("data", (data: Buffer) => {
      try {
        const [first] = decoder.push(new Uint8Array(data.buffer, data.byteOffset, data.length));
        if (first) {
          clearTimeout(timer);
          socket.destroy();
          resolve(first);
        }
      } catch (err) {
        clearTimeout(timer);
        socket.destroy();
        reject(new TransferError("malformed", `${peer} broke DNS-over-TCP framing: ${(err as Error).message}`));
      }
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(socketError(peer, err, connected ? "transfer" : "connect"));
    });
    socket.on("close", () => {
      clearTimeout(timer);
      reject(new TransferError("reset", `${peer} closed the TCP connection before answering our SOA query`));
    });
  });
}
