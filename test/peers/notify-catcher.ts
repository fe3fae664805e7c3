/**
 * @module A bare NOTIFY receiver (RFC 1996) on UDP and TCP for tests of what a peer sends. TCP matters:
 * knotd 3.2 sends its NOTIFYs over TCP, the others over UDP. It records each message whose header says opcode NOTIFY (4) and answers it the way a secondary must
 * (same ID, QR=1, opcode NOTIFY, AA; RFC 1996 §4.7), so the peer stops retransmitting. The header bits
 * are read by hand; the rest is decoded with dns-packet only to report the zone and the SOA serial.
 */
import { createSocket, type Socket } from "node:dgram";
import { createServer, type Socket as TcpSocket } from "node:net";
import dnsPacket from "dns-packet";
import { freePort } from "./ports.ts";

export const OPCODE_NOTIFY = 4;

export interface CaughtNotify {
  /** Opcode from header bits 11–14. */
  opcode: number;
  id: number;
  /** The zone in the question, absolute, lower case. */
  zone?: string;
  /** The SOA serial in the answer section, when the sender included one (RFC 1996 §3.7 makes it optional). */
  serial?: number;
  /** The message carries a TSIG record (ARCOUNT > 0 and a TSIG last). */
  signed: boolean;
  transport: "udp" | "tcp";
  from: { address: string; port: number };
  at: number;
}

export interface NotifyCatcher {
  address: string;
  port: number;
  /** Every NOTIFY caught so far. */
  readonly caught: CaughtNotify[];
  /** The first NOTIFY (caught now or later) that satisfies `match`; rejects after `timeoutMs`. */
  wait(match: (n: CaughtNotify) => boolean, timeoutMs?: number): Promise<CaughtNotify>;
  close(): Promise<void>;
}

/** Parse just enough of a NOTIFY to report it. */
export function describeNotify(
  msg: Buffer,
  from: { address: string; port: number },
  transport: "udp" | "tcp",
): CaughtNotify | undefined {
  if (msg.length < 12) return undefined;
  const flags = msg.readUInt16BE(2);
  const opcode = (flags >> 11) & 0xf;
  let zone: string | undefined;
  let serial: number | undefined;
  let signed: boolean;
  try {
    const p = dnsPacket.decode(msg);
    zone = p.questions?.[0] ? `${p.questions[0].name.toLowerCase().replace(/\.$/, "")}.` : undefined;
    const soa = p.answers?.find((a) => a.type === "SOA");
    if (soa && soa.type === "SOA") serial = soa.data.serial;
    const last = p.additionals?.at(-1) as { type?: string } | undefined;
    signed = last?.type === "TSIG" || last?.type === "UNKNOWN_250";
  } catch {
    // A TSIG dns-packet cannot decode is still a NOTIFY: the opcode is what matters.
    signed = msg.readUInt16BE(10) > 0;
  }
  return { opcode, id: msg.readUInt16BE(0), zone, serial, signed, transport, from, at: Date.now() };
}

/** The reply a secondary sends: the query's header and question, with QR and AA set (RFC 1996 §4.7). */
function notifyReply(msg: Buffer): Buffer {
  let end = 12;
  while (end < msg.length && msg[end] !== 0) end += (msg[end] as number) + 1;
  end += 5; // root label, QTYPE, QCLASS
  const reply = Buffer.from(msg.subarray(0, Math.min(end, msg.length)));
  reply.writeUInt16BE(0x8000 | (OPCODE_NOTIFY << 11) | 0x0400, 2);
  reply.writeUInt16BE(1, 4);
  reply.writeUInt32BE(0, 6); // ANCOUNT, NSCOUNT
  reply.writeUInt16BE(0, 10); // ARCOUNT: our reply is unsigned, fine for a test receiver
  return reply;
}

/** Listen on UDP and TCP at 127.0.0.1 on a free port (or `opts.port`). */
export async function startNotifyCatcher(opts: { address?: string; port?: number } = {}): Promise<NotifyCatcher> {
  const address = opts.address ?? "127.0.0.1";
  const port = opts.port ?? (await freePort({ ipv6: address.includes(":") }));
  const caught: CaughtNotify[] = [];
  const waiters = new Set<{ match: (n: CaughtNotify) => boolean; resolve: (n: CaughtNotify) => void }>();
  /** Record a message; the reply to send back, or undefined for anything but a NOTIFY. */
  const receive = (msg: Buffer, from: { address: string; port: number }, transport: "udp" | "tcp") => {
    const n = describeNotify(msg, from, transport);
    if (!n || n.opcode !== OPCODE_NOTIFY) return undefined;
    caught.push(n);
    for (const w of waiters) {
      if (w.match(n)) {
        waiters.delete(w);
        w.resolve(n);
      }
    }
    return notifyReply(msg);
  };

  const udp: Socket = createSocket(address.includes(":") ? "udp6" : "udp4");
  udp.on("message", (msg, rinfo) => {
    const reply = receive(msg, { address: rinfo.address, port: rinfo.port }, "udp");
    if (reply) udp.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    udp.once("error", reject);
    udp.bind(port, address, () => resolve());
  });

  // RFC 1035 §4.2.2: each TCP message is preceded by its two-byte length.
  const connections = new Set<TcpSocket>();
  const tcp = createServer((conn) => {
    connections.add(conn);
    conn.on("close", () => connections.delete(conn));
    conn.on("error", () => conn.destroy());
    let pending = Buffer.alloc(0);
    conn.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const msg = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + msg.length);
        const reply = receive(Buffer.from(msg), { address: conn.remoteAddress ?? "", port: conn.remotePort ?? 0 }, "tcp");
        if (reply) {
          const framed = Buffer.alloc(2 + reply.length);
          framed.writeUInt16BE(reply.length, 0);
          reply.copy(framed, 2);
          conn.write(framed);
        }
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(port, address, () => resolve());
  });

  return {
    address,
    port,
    caught,
    wait(match, timeoutMs = 10_000) {
      const hit = caught.find(match);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = {
          match,
          resolve: (n: CaughtNotify) => {
            clearTimeout(timer);
            resolve(n);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`no matching NOTIFY within ${timeoutMs} ms (caught ${caught.length} so far)`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    async close() {
      for (const c of connections) c.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    },
  };
}
