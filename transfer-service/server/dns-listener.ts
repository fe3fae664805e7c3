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

/** Binds TCP and UDP on every address of `options` and serves them until `close()`. */
export async function startDnsListener(options: DnsListenerOptions): Promise<DnsListener> {
  const listener = new Listener(options);
  await listener.bindAll();
  return listener;
}

/** The listener's named steps: `bind` (TCP, then UDP on the same port), `onUdpMessage`, `acceptTcp`, `close`. */
class Listener implements DnsListener {
  readonly addresses: ListenAddress[] = [];
  private readonly udpSockets: UdpSocket[] = [];
  private readonly tcpServers: Server[] = [];
  private readonly connections = new Set<Socket>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly maxUdpInFlight: number;
  private udpInFlight = 0;
  private closing = false;

  constructor(readonly options: DnsListenerOptions) {
    this.maxUdpInFlight = options.maxUdpInFlight ?? 4096;
  }

  get tcpConnections(): number {
    return this.connections.size;
  }

  /** Binds every configured address; on a failure, closes what was bound and throws. */
  async bindAll(): Promise<void> {
    try {
      for (const address of this.options.addresses) this.addresses.push(await this.bind(address));
    } catch (err) {
      for (const s of this.tcpServers) s.close();
      for (const u of this.udpSockets) u.close();
      throw err;
    }
  }

  /** TCP first: with port 0 the kernel picks a port, and UDP then takes the same one. */
  private async bind(address: ListenAddress): Promise<ListenAddress> {
    const server = createServer({ pauseOnConnect: false }, (socket) => this.acceptTcp(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      // ipv6Only: "[::]:53" beside "0.0.0.0:53" must not claim the IPv4 port too (dual-stack default).
      server.listen({ host: address.host, port: address.port, exclusive: true, ipv6Only: address.host.includes(":") }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.tcpServers.push(server);
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
    udp.on("message", (msg: Buffer, rinfo: RemoteInfo) => this.onUdpMessage(udp, msg, rinfo));
    udp.on("error", (err) => this.options.log.warn({ err: { message: err.message } }, "UDP socket error"));
    this.udpSockets.push(udp);
    return { host: address.host, port };
  }

  /** Keeps `p` for `close()` to wait on until it settles. */
  track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    p.finally(() => this.pending.delete(p)).catch(() => undefined);
    return p;
  }

  /** The handler's reply, or its promise; a throw or a rejection drops the message (logged). */
  handle(message: Uint8Array, ctx: RequestContext): Uint8Array | null | Promise<Uint8Array | null> {
    try {
      const result = this.options.handler(message, ctx);
      return result instanceof Promise ? result.catch((err: unknown) => this.failed(err, ctx)) : result;
    } catch (err) {
      return this.failed(err, ctx);
    }
  }

  private failed(err: unknown, ctx: RequestContext): null {
    this.options.log.error({ err: { message: (err as Error).message }, remote: ctx.remoteAddress, transport: ctx.transport }, "DNS handler failed");
    return null;
  }

  /** One UDP datagram: answered in the same event when the handler can, else when its promise settles. */
  private onUdpMessage(socket: UdpSocket, msg: Buffer, rinfo: RemoteInfo): void {
    if (this.closing || msg.length < MIN_MESSAGE) return;
    if (this.udpInFlight >= this.maxUdpInFlight) return; // shed load rather than queue without bound
    const ctx: RequestContext = { transport: "udp", remoteAddress: rinfo.address, remotePort: rinfo.port };
    // A plain Uint8Array over the Buffer's octets: Buffer's `slice` shares memory where Uint8Array's copies.
    const result = this.handle(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), ctx);
    if (!(result instanceof Promise)) {
      if (result) socket.send(result, rinfo.port, rinfo.address);
      return;
    }
    this.udpInFlight++;
    this.track(
      result.then((reply) => {
        this.udpInFlight--;
        if (reply && !this.closing) socket.send(reply, rinfo.port, rinfo.address);
      }),
    );
  }

  /** A new TCP connection: refused past the bound, else served by a `TcpConnection`. */
  private acceptTcp(socket: Socket): void {
    const { metrics } = this.options;
    if (this.closing || this.connections.size >= this.options.maxTcpConnections) {
      metrics?.tcpRejected.inc();
      socket.destroy();
      return;
    }
    this.connections.add(socket);
    metrics?.tcpConnections.set(this.connections.size);
    new TcpConnection(this, socket, () => {
      this.connections.delete(socket);
      metrics?.tcpConnections.set(this.connections.size);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([
      ...this.tcpServers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      ...this.udpSockets.map((u) => new Promise<void>((resolve) => u.close(() => resolve()))),
      (async () => {
        for (const c of this.connections) c.destroy();
      })(),
    ]);
    await Promise.allSettled([...this.pending]);
  }
}

/** One TCP connection (RFC 7766): framing, pipelining with a cap on messages in flight, the idle timeout. */
class TcpConnection {
  private readonly decoder = new FrameDecoder();
  private readonly ctx: RequestContext;
  private readonly maxInFlight: number;
  private inFlight = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly listener: Listener,
    private readonly socket: Socket,
    onClose: () => void,
  ) {
    this.maxInFlight = listener.options.maxInFlightPerConnection ?? 64;
    socket.setNoDelay(true);
    this.ctx = { transport: "tcp", remoteAddress: socket.remoteAddress ?? "", remotePort: socket.remotePort ?? 0 };
    this.armIdle();
    socket.on("data", (data: Buffer) => this.onData(data));
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      if (this.idleTimer) clearTimeout(this.idleTimer);
      onClose();
    });
  }

  /** RFC 7766 §6.2.3: the idle timeout runs only while no query is outstanding. */
  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = this.inFlight === 0 ? setTimeout(() => this.socket.destroy(), this.listener.options.tcpIdleTimeoutMs) : undefined;
  }

  /** Octets in: every whole message is handled at once (§6.2.1.1); broken framing closes the connection. */
  private onData(data: Buffer): void {
    const { socket } = this;
    let messages: Uint8Array[];
    try {
      messages = this.decoder.push(new Uint8Array(data.buffer, data.byteOffset, data.length));
    } catch (err) {
      if (err instanceof FramingError) this.listener.options.log.debug({ remote: this.ctx.remoteAddress }, err.message);
      socket.destroy();
      return;
    }
    for (const message of messages) {
      if (message.length < MIN_MESSAGE) continue;
      const result = this.listener.handle(message, this.ctx);
      if (!(result instanceof Promise)) {
        if (result && !socket.destroyed) socket.write(frame(result));
        continue;
      }
      this.inFlight++;
      if (this.inFlight >= this.maxInFlight) socket.pause();
      this.listener.track(result.then((reply) => this.onReply(reply)));
    }
    this.armIdle();
  }

  /** A reply that had to wait: written as it completes (§7: out of order), and reading resumes below the cap. */
  private onReply(reply: Uint8Array | null): void {
    const { socket } = this;
    this.inFlight--;
    if (socket.destroyed) return;
    if (reply) socket.write(frame(reply));
    if (socket.isPaused() && this.inFlight < this.maxInFlight) socket.resume();
    this.armIdle();
  }
}
