/**
 * @module The service's one DNS listener: UDP and TCP on each configured address (127.0.0.1:5053 and
 * [::1]:5053 locally, port 53 in production). It knows transports, not DNS: every message goes to one
 * `DnsHandler` (see dns-dispatch.ts), whose reply, if any, goes back the way the query came.
 *
 * TCP follows RFC 7766:
 * - two-octet length framing (§8), reassembled across segments by `FrameDecoder`;
 * - pipelining (§6.2.1.1): every message read is handled at once, replies are written as they complete,
 *   so they may leave out of order (§7); in-flight messages per connection are capped, and reading pauses
 *   at the cap instead of queueing without bound;
 * - an idle timeout (§6.2.3) that runs only while no query is outstanding;
 * - a bound on open connections: past it, a new connection is closed at once.
 * A broken stream (zero-length frame) closes the connection; a handler error drops that one message.
 *
 * A handler answers synchronously when it can: the port-53 front's cache hits, local refusals and
 * rate-limited drops need no I/O, so their replies are sent inside the socket's own 'message' or 'data'
 * event, with no promise or microtask in between. Only what has to wait (a forward to the Worker, a NOTIFY)
 * comes back as a promise.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from "node:dgram";
import { lookup as dnsLookup, type LookupOneOptions } from "node:dns";
import { createServer, type Server, type Socket } from "node:net";
import type { ListenAddress } from "../addresses.ts";
import type { DnsHandler, RequestContext } from "./request-context.ts";
import type { Logger } from "../ops/log.ts";
import type { Metrics } from "../ops/metrics.ts";
import { FrameDecoder, FramingError, frame } from "../../dns/wire/tcp-framing.ts";

export interface DnsListenerOptions {
  addresses: ListenAddress[];
  handler: DnsHandler;
  log: Logger;
  metrics?: Metrics;
  /** RFC 7766 §6.2.3 idle timeout. */
  tcpIdleTimeoutMs: number;
  maxTcpConnections: number;
  /** Pipelined messages in flight per TCP connection before reading pauses. Default 64. */
  maxInFlightPerConnection?: number;
  /** UDP messages in flight over the whole listener before new ones are dropped. Default 4096. */
  maxUdpInFlight?: number;
}

export interface DnsListener {
  /** The addresses actually bound (port 0 in the options becomes a real port; UDP and TCP share it). */
  addresses: ListenAddress[];
  /** Open TCP connections now. */
  readonly tcpConnections: number;
  /** Stops accepting, closes every connection and waits for in-flight handlers. */
  close(): Promise<void>;
}

/** Messages shorter than a header cannot be answered (there is no ID to echo); RFC 1035 §4.1.1. */
const MIN_MESSAGE = 12;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * dgram resolves every send's address through its `lookup` (dns.lookup by default), which for an IP literal
 * still puts the send off by a process.nextTick. A listener's replies only go to the address a query came
 * from, a literal, so once the socket is bound (bind() may still be given a name) addresses pass straight
 * through.
 */
function replyLookup(): { lookup: (host: string, family: LookupOneOptions | number, callback: LookupCallback) => void; bound(): void } {
  let bound = false;
  return {
    // dgram passes the family as a number (4 or 6), whatever @types/node says.
    lookup: (host, family, callback) => {
      if (bound) callback(null, host, family === 6 ? 6 : 4);
      else if (typeof family === "number") dnsLookup(host, family, callback);
      else dnsLookup(host, family, callback);
    },
    bound: () => {
      bound = true;
    },
  };
}

export async function startDnsListener(options: DnsListenerOptions): Promise<DnsListener> {
  const { handler, log, metrics } = options;
  const maxInFlight = options.maxInFlightPerConnection ?? 64;
  const maxUdpInFlight = options.maxUdpInFlight ?? 4096;
  const udpSockets: UdpSocket[] = [];
  const tcpServers: Server[] = [];
  const connections = new Set<Socket>();
  const pending = new Set<Promise<unknown>>();
  let udpInFlight = 0;
  let closing = false;

  const track = <T>(p: Promise<T>): Promise<T> => {
    pending.add(p);
    p.finally(() => pending.delete(p)).catch(() => undefined);
    return p;
  };

  const failed = (err: unknown, ctx: RequestContext): null => {
    log.error({ err: { message: (err as Error).message }, remote: ctx.remoteAddress, transport: ctx.transport }, "DNS handler failed");
    return null;
  };

  /** The handler's reply, or its promise; a throw or a rejection drops the message (logged). */
  const handle = (message: Uint8Array, ctx: RequestContext): Uint8Array | null | Promise<Uint8Array | null> => {
    try {
      const result = handler(message, ctx);
      return result instanceof Promise ? result.catch((err: unknown) => failed(err, ctx)) : result;
    } catch (err) {
      return failed(err, ctx);
    }
  };

  const onUdp = (socket: UdpSocket) => (msg: Buffer, rinfo: RemoteInfo): void => {
    if (closing || msg.length < MIN_MESSAGE) return;
    if (udpInFlight >= maxUdpInFlight) return; // shed load rather than queue without bound
    const ctx: RequestContext = { transport: "udp", remoteAddress: rinfo.address, remotePort: rinfo.port };
    // A plain Uint8Array over the Buffer's octets: Buffer's `slice` shares memory where Uint8Array's copies.
    const result = handle(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), ctx);
    if (!(result instanceof Promise)) {
      if (result) socket.send(result, rinfo.port, rinfo.address);
      return;
    }
    udpInFlight++;
    track(
      result.then((reply) => {
        udpInFlight--;
        if (reply && !closing) socket.send(reply, rinfo.port, rinfo.address);
      }),
    );
  };

  const onTcp = (socket: Socket): void => {
    if (closing || connections.size >= options.maxTcpConnections) {
      metrics?.tcpRejected.inc();
      socket.destroy();
      return;
    }
    connections.add(socket);
    metrics?.tcpConnections.set(connections.size);
    socket.setNoDelay(true);
    const decoder = new FrameDecoder();
    const ctx: RequestContext = {
      transport: "tcp",
      remoteAddress: socket.remoteAddress ?? "",
      remotePort: socket.remotePort ?? 0,
    };
    let inFlight = 0;
    let idleTimer: NodeJS.Timeout | undefined;
    const armIdle = (): void => {
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = inFlight === 0 ? setTimeout(() => socket.destroy(), options.tcpIdleTimeoutMs) : undefined;
    };
    armIdle();

    socket.on("data", (data: Buffer) => {
      let messages: Uint8Array[];
      try {
        messages = decoder.push(new Uint8Array(data.buffer, data.byteOffset, data.length));
      } catch (err) {
        if (err instanceof FramingError) log.debug({ remote: ctx.remoteAddress }, err.message);
        socket.destroy();
        return;
      }
      for (const message of messages) {
        if (message.length < MIN_MESSAGE) continue;
        const result = handle(message, ctx);
        if (!(result instanceof Promise)) {
          if (result && !socket.destroyed) socket.write(frame(result));
          continue;
        }
        inFlight++;
        if (inFlight >= maxInFlight) socket.pause();
        track(
          result.then((reply) => {
            inFlight--;
            if (socket.destroyed) return;
            if (reply) socket.write(frame(reply));
            if (socket.isPaused() && inFlight < maxInFlight) socket.resume();
            armIdle();
          }),
        );
      }
      armIdle();
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      if (idleTimer) clearTimeout(idleTimer);
      connections.delete(socket);
      metrics?.tcpConnections.set(connections.size);
    });
  };

  const bound: ListenAddress[] = [];
  try {
    for (const address of options.addresses) {
      // TCP first: with port 0 the kernel picks a port, and UDP then takes the same one.
      const server = createServer({ pauseOnConnect: false }, onTcp);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        // ipv6Only: "[::]:53" beside "0.0.0.0:53" must not claim the IPv4 port too (dual-stack default).
        server.listen({ host: address.host, port: address.port, exclusive: true, ipv6Only: address.host.includes(":") }, () => {
          server.off("error", reject);
          resolve();
        });
      });
      tcpServers.push(server);
      const port = (server.address() as { port: number }).port;
      const replies = replyLookup();
      const udp = createSocket({ type: address.host.includes(":") ? "udp6" : "udp4", ipv6Only: address.host.includes(":"), lookup: replies.lookup });
      await new Promise<void>((resolve, reject) => {
        udp.once("error", reject);
        udp.bind({ address: address.host, port, exclusive: true }, () => {
          udp.off("error", reject);
          resolve();
        });
      });
      replies.bound();
      udp.on("message", onUdp(udp));
      udp.on("error", (err) => log.warn({ err: { message: err.message } }, "UDP socket error"));
      udpSockets.push(udp);
      bound.push({ host: address.host, port });
    }
  } catch (err) {
    for (const s of tcpServers) s.close();
    for (const u of udpSockets) u.close();
    throw err;
  }

  return {
    addresses: bound,
    get tcpConnections() {
      return connections.size;
    },
    async close() {
      closing = true;
      await Promise.all([
        ...tcpServers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
        ...udpSockets.map((u) => new Promise<void>((resolve) => u.close(() => resolve()))),
        (async () => {
          for (const c of connections) c.destroy();
        })(),
      ]);
      await Promise.allSettled([...pending]);
    },
  };
}
