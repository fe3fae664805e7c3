/**
 * @module Asking a peer for a zone's SOA over UDP, to know when it is up and which serial it serves.
 * A tiny in-process query (dns-packet over node:dgram) rather than spawning kdig: readiness is polled
 * every few tens of milliseconds and a process per poll would dominate start-up time.
 */
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import dnsPacket from "dns-packet";

export interface SoaAnswer {
  /** RCODE name from dns-packet ("NOERROR", "REFUSED"…). */
  rcode: string;
  authoritative: boolean;
  /** The SOA serial in the answer section, when there is one. */
  serial?: number;
}

/** One SOA query; rejects on timeout or a garbled reply. */
export function querySoa(address: string, port: number, zone: string, timeoutMs = 500): Promise<SoaAnswer> {
  const id = Math.floor(Math.random() * 0x10000);
  const query = dnsPacket.encode({ type: "query", id, flags: 0, questions: [{ type: "SOA", name: zone, class: "IN" }] });
  const socket = createSocket(address.includes(":") ? "udp6" : "udp4");
  return new Promise<SoaAnswer>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no answer from ${address}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (fn: () => void) => {
      clearTimeout(timer);
      socket.close();
      fn();
    };
    socket.on("error", (err) => done(() => reject(err)));
    socket.on("message", (msg) => {
      let reply: dnsPacket.DecodedPacket;
      try {
        reply = dnsPacket.decode(msg);
      } catch (err) {
        done(() => reject(new Error(`undecodable reply: ${(err as Error).message}`)));
        return;
      }
      if (reply.id !== id) return; // not ours: keep waiting
      const soa = reply.answers?.find((a) => a.type === "SOA");
      done(() =>
        resolve({
          rcode: (reply as { rcode?: string }).rcode ?? "NOERROR",
          authoritative: reply.flag_aa,
          serial: soa && soa.type === "SOA" ? soa.data.serial : undefined,
        }),
      );
    });
    socket.send(query, port, address);
  });
}

/**
 * One SOA query over TCP (RFC 1035 §4.2.2 framing). A daemon can come up with UDP but not TCP (named
 * carries on when its TCP port is taken), and transfers need TCP, so start-up checks both.
 */
export function querySoaTcp(address: string, port: number, zone: string, timeoutMs = 1000): Promise<SoaAnswer> {
  const id = Math.floor(Math.random() * 0x10000);
  const query = dnsPacket.encode({ type: "query", id, flags: 0, questions: [{ type: "SOA", name: zone, class: "IN" }] });
  const framed = Buffer.alloc(2 + query.length);
  framed.writeUInt16BE(query.length, 0);
  query.copy(framed, 2);
  return new Promise<SoaAnswer>((resolve, reject) => {
    const socket = connect(port, address);
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`no TCP answer from ${address}:${port} within ${timeoutMs} ms`)), timeoutMs);
    const finish = (err?: Error, answer?: SoaAnswer) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(answer as SoaAnswer);
    };
    socket.on("error", (err) => finish(err));
    socket.on("connect", () => socket.write(framed));
    socket.on("data", (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length < 2 || got.length < 2 + got.readUInt16BE(0)) return;
      try {
        const reply = dnsPacket.decode(got.subarray(2, 2 + got.readUInt16BE(0)));
        const soa = reply.answers?.find((a) => a.type === "SOA");
        finish(undefined, {
          rcode: (reply as { rcode?: string }).rcode ?? "NOERROR",
          authoritative: reply.flag_aa,
          serial: soa && soa.type === "SOA" ? soa.data.serial : undefined,
        });
      } catch (err) {
        finish(new Error(`undecodable TCP reply: ${(err as Error).message}`));
      }
    });
  });
}

export interface WaitForSoaOptions {
  address: string;
  port: number;
  zone: string;
  /** Ask over UDP (default) or TCP. */
  transport?: "udp" | "tcp";
  /** Wait for exactly this serial; otherwise any authoritative SOA answer will do. */
  serial?: number;
  timeoutMs: number;
  /** Called between polls; throw from it to stop waiting (e.g. the daemon exited). */
  check?: () => void;
  /** Called every `nudgeEveryMs` while the wanted serial is not served (e.g. reissue a reload). */
  nudge?: () => Promise<void>;
  nudgeEveryMs?: number;
  /**
   * Answers in a row that must show the serial, alternating UDP and TCP (default 1). A reloading daemon
   * can answer from its old and its new process for a while (nsd forks a new server and lets the old one
   * finish), so one answer with the new serial does not mean every later query gets it; on a slow
   * machine that overlap is longer.
   */
  settled?: number;
}

/** Poll until the peer answers authoritatively with an SOA (of `serial`, if given). Bounded by `timeoutMs`. */
export async function waitForSoa(opts: WaitForSoaOptions): Promise<number> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastNudge = Date.now();
  let last = "no answer yet";
  const wanted = opts.settled ?? 1;
  let inRow = 0;
  while (Date.now() < deadline) {
    opts.check?.();
    try {
      const overTcp = wanted > 1 ? inRow % 2 === 1 : opts.transport === "tcp";
      const answer = overTcp ? await querySoaTcp(opts.address, opts.port, opts.zone, 300) : await querySoa(opts.address, opts.port, opts.zone, 300);
      if (answer.authoritative && answer.serial !== undefined) {
        if (opts.serial === undefined || answer.serial === opts.serial) {
          if (++inRow >= wanted) return answer.serial;
          // Spaced out, so the answers in a row span a moment rather than one burst.
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        last = `serving serial ${answer.serial}, waiting for ${opts.serial}`;
      } else {
        last = `answered ${answer.rcode}${answer.authoritative ? "" : " without AA"}`;
      }
    } catch (err) {
      last = (err as Error).message;
    }
    inRow = 0;
    if (opts.nudge && Date.now() - lastNudge >= (opts.nudgeEveryMs ?? 1000)) {
      lastNudge = Date.now();
      await opts.nudge();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  opts.check?.();
  throw new Error(
    `${opts.address}:${opts.port} did not serve SOA for ${opts.zone} over ${opts.transport ?? "udp"} within ${opts.timeoutMs} ms (${last})`,
  );
}
