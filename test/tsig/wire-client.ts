/**
 * @module A minimal DNS client for the TSIG interop tests: one UDP exchange, and an AXFR over TCP read as
 * length-prefixed messages (RFC 1035 §4.2.2, RFC 5936 §2.2) until the closing SOA. It only frames and
 * counts; every TSIG check is left to the code under test. The real transfer client lives in
 * transfer-service/.
 *
 * Every exchange is bounded by a deadline and a message cap, and the socket is always closed.
 */
import dgram from "node:dgram";
import net from "node:net";
import { RRClass, RRType } from "../../dns/constants.ts";
import { Name } from "../../dns/name.ts";
import { WireReader } from "../../dns/wire/reader.ts";
import { WireWriter } from "../../dns/wire/writer.ts";

/** A query with one question and no records (flags: opcode QUERY, RD clear). */
export function buildQuery(id: number, zone: string, type: number): Uint8Array {
  const w = new WireWriter();
  w.u16(id);
  w.u16(0);
  w.u16(1);
  w.u16(0);
  w.u16(0);
  w.u16(0);
  w.name(Name.parse(zone));
  w.u16(type);
  w.u16(RRClass.IN);
  return w.finish();
}

export const rcodeOf = (m: Uint8Array): number => m[3]! & 0x0f;

/** Where each answer-section record sits: its type and the octet just past its RDATA. */
export function answerSpans(m: Uint8Array): Array<{ type: number; rdataEnd: number }> {
  const r = new WireReader(m, 4);
  const qd = r.u16(), an = r.u16();
  r.offset = 12;
  for (let i = 0; i < qd; i++) {
    r.skipName();
    r.bytes(4);
  }
  const spans: Array<{ type: number; rdataEnd: number }> = [];
  for (let i = 0; i < an; i++) {
    r.skipName();
    const type = r.u16();
    r.bytes(6);
    const rdataEnd = r.u16() + r.offset;
    r.offset = rdataEnd;
    spans.push({ type, rdataEnd });
  }
  return spans;
}

/** The types of the answer section, in order (TSIG lives in additional and is not counted). */
export function answerTypes(m: Uint8Array): number[] {
  return answerSpans(m).map((s) => s.type);
}

/** One UDP query (to 127.0.0.1 unless `address` says otherwise); resolves with the first datagram back. */
export function udpExchange(port: number, query: Uint8Array, timeoutMs = 3000, address = "127.0.0.1"): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(address.includes(":") ? "udp6" : "udp4");
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no UDP answer from ${address}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("message", (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(new Uint8Array(msg));
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
    socket.send(query, port, address);
  });
}

export interface AxfrResult {
  /** Every message as received, without the length prefix. */
  messages: Uint8Array[];
  /** Answer records in all messages (the SOA counted twice, as sent). */
  records: number;
  /** True when the closing SOA arrived; false when the server stopped early (an error answer). */
  complete: boolean;
  /** How the stream ended, for failure messages. */
  ended: "closing SOA" | "error RCODE" | "message without answers" | "closed by the server";
}

/**
 * Sends `query` over TCP and reads messages until the closing SOA (the second SOA of the stream), an
 * error RCODE, a message without answers, the server closing, or the deadline.
 * `onMessage` sees each message as it arrives (the streaming verifier goes there).
 */
export function tcpAxfr(
  port: number,
  query: Uint8Array,
  opts: { timeoutMs?: number; maxMessages?: number; onMessage?: (m: Uint8Array, index: number) => Promise<void> } = {},
): Promise<AxfrResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const maxMessages = opts.maxMessages ?? 100_000;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const messages: Uint8Array[] = [];
    let records = 0;
    let soas = 0;
    let buffered = Buffer.alloc(0);
    let done = false;
    // Messages are handed to onMessage one at a time, in order.
    let chain = Promise.resolve();
    const finish = (err: Error | undefined, ended: AxfrResult["ended"] = "closed by the server") => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      chain.then(
        () => (err ? reject(err) : resolve({ messages, records, complete: ended === "closing SOA", ended })),
        (e: unknown) => reject(e),
      );
    };
    const timer = setTimeout(() => finish(new Error(`AXFR from 127.0.0.1:${port} not done within ${timeoutMs} ms`)), timeoutMs);
    socket.on("connect", () => {
      const framed = Buffer.alloc(2 + query.length);
      framed.writeUInt16BE(query.length, 0);
      framed.set(query, 2);
      socket.write(framed);
    });
    socket.on("data", (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (!done && buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) break;
        const message = new Uint8Array(buffered.subarray(2, 2 + length)); // a copy: the verifier may keep it
        buffered = buffered.subarray(2 + length);
        const index = messages.length;
        messages.push(message);
        if (opts.onMessage) {
          const handler = opts.onMessage;
          chain = chain.then(() => handler(message, index));
          chain.catch((err: unknown) => finish(err as Error));
        }
        let types: number[];
        try {
          types = answerTypes(message);
        } catch (err) {
          finish(err as Error);
          return;
        }
        records += types.length;
        soas += types.filter((t) => t === RRType.SOA).length;
        if (rcodeOf(message) !== 0) finish(undefined, "error RCODE");
        else if (types.length === 0) finish(undefined, "message without answers");
        else if (soas >= 2) finish(undefined, "closing SOA");
        else if (messages.length >= maxMessages) finish(new Error(`more than ${maxMessages} messages`));
      }
    });
    socket.on("error", (err) => finish(err));
    socket.on("close", () => finish(undefined));
  });
}
