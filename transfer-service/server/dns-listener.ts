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
 * - a bound on open connections (§6.2.2 lets a server limit them, per client and per subnet too).
 * A broken stream (zero-length frame) closes the connection; a handler error drops that one message.
 *
 * A TCP slot is worth holding to an attacker, so every way of holding one has a deadline or a cap
 * (`TcpLimits`):
 * - a message must arrive whole within `ioTimeoutMs` of its first octet (Knot's `tcp-io-timeout`, 500 ms),
 *   whatever trickles in meanwhile: a byte every few seconds no longer keeps a connection alive;
 * - a new connection must send its first whole message within `initialTimeoutMs` (BIND's
 *   `tcp-initial-timeout` idea);
 * - a client prefix (/24, /56) holds at most `maxPerPrefix` connections;
 * - at the global cap, the connection idle longest is closed to admit a new one (§6.2.3 allows closing
 *   idle connections); only when none is idle is the new one refused;
 * - answers the client does not read are back-pressure: past `maxUnsentBytes` unsent, reading stops (so
 *   nothing more is answered), and a connection blocked longer than `writeTimeoutMs` is closed. With the
 *   in-flight cap this bounds a connection's memory: one read chunk, the in-flight answers, and the unsent
 *   bound plus one answer.
 * Each closing is counted by reason in `backstop_dns_tcp_closed_total`.
 *
 * A handler answers synchronously when it can: the port-53 front's cache hits, local refusals and
 * rate-limited drops need no I/O, so their replies are sent inside the socket's own 'message' or 'data'
 * event, with no promise or microtask in between. Only what has to wait (a forward to the Worker, a NOTIFY)
 * comes back as a promise.
 *
 * A zone transfer out answers with many messages (`StreamingReply`, TCP only): the connection writes them as
 * they come, awaits 'drain' whenever its unsent octets pass `maxUnsentBytes`, and reads no further query
 * until the stream ends, so a transfer's memory is bounded by the unsent bound plus one message.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from "node:dgram";
import { lookup as dnsLookup, type LookupOneOptions } from "node:dns";
import { createServer, type Server, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { type ListenAddress, parseAddress } from "../addresses.ts";
import type { DnsHandler, DnsReply, RequestContext, StreamingReply } from "./request-context.ts";
import type { Logger } from "../ops/log.ts";
import type { Metrics, TcpCloseReason } from "../ops/metrics.ts";
import { FrameDecoder, FramingError, frame } from "../../dns/wire/tcp-framing.ts";

export interface DnsListenerOptions {
  addresses: ListenAddress[];
  handler: DnsHandler;
  log: Logger;
  metrics?: Metrics;
  /** RFC 7766 §6.2.3 idle timeout. */
  tcpIdleTimeoutMs: number;
  maxTcpConnections: number;
  /** The deadlines and caps that keep TCP slots and memory bounded; each field has a default. */
  tcp?: Partial<TcpLimits>;
  /** Pipelined messages in flight per TCP connection before reading pauses. Default 64. */
  maxInFlightPerConnection?: number;
  /** UDP messages in flight over the whole listener before new ones are dropped. Default 4096. */
  maxUdpInFlight?: number;
  /**
   * In a query process of the multi-process front (a node:cluster worker): bind without `exclusive`, so
   * the cluster's primary holds each socket and every query process shares it (`front-processes.ts`).
   */
  shared?: boolean;
}

/** How long a TCP client may take, how many connections a prefix may hold, how much it may leave unread. */
export interface TcpLimits {
  /** From a message's first octet to its last (Knot's `tcp-io-timeout`). */
  ioTimeoutMs: number;
  /** From accepting a connection to its first whole message (BIND's `tcp-initial-timeout`). */
  initialTimeoutMs: number;
  /** Connections one client prefix may hold; 0 = no per-prefix cap. */
  maxPerPrefix: number;
  /** What a client prefix is (RRL's /24 and /56 by default). */
  ipv4PrefixLength: number;
  ipv6PrefixLength: number;
  /** Answers written but not yet taken by the kernel, past which reading stops. */
  maxUnsentBytes: number;
  /** How long a connection may stay past `maxUnsentBytes` before it is closed. */
  writeTimeoutMs: number;
}

/** The defaults: Knot's 500 ms per message; BIND's smallest `tcp-initial-timeout` (2.5 s); 256 KiB unsent. */
export const TCP_LIMIT_DEFAULTS: TcpLimits = {
  ioTimeoutMs: 500,
  initialTimeoutMs: 2_500,
  maxPerPrefix: 64,
  ipv4PrefixLength: 24,
  ipv6PrefixLength: 56,
  maxUnsentBytes: 256 * 1024,
  writeTimeoutMs: 5_000,
};

export interface DnsListener {
  /** The addresses actually bound (port 0 in the options becomes a real port; UDP and TCP share it). */
  addresses: ListenAddress[];
  /** Open TCP connections now. */
  readonly tcpConnections: number;
  /** Stops accepting, closes every connection and waits for in-flight handlers. */
  close(): Promise<void>;
}

/**
 * The client prefix an address counts against ("4:192.0.2.0/24"); the address itself when it does not parse.
 * Computed once per connection, off the per-query path.
 */
function prefixKey(address: string, limits: TcpLimits): string {
  const parsed = parseAddress(address);
  if (!parsed) return address;
  const v4 = parsed.kind() === "ipv4";
  const bits = v4 ? limits.ipv4PrefixLength : limits.ipv6PrefixLength;
  const bytes = parsed.toByteArray();
  for (let i = 0; i < bytes.length; i++) bytes[i] = bytes[i]! & ((0xff << (8 - Math.max(0, Math.min(8, bits - i * 8)))) & 0xff);
  return `${v4 ? 4 : 6}:${bytes.join(".")}/${bits}`;
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
  private readonly connections = new Set<TcpConnection>();
  /** Connections with nothing outstanding, in the order they became idle: the first is idle longest. */
  private readonly idle = new Set<TcpConnection>();
  private readonly perPrefix = new Map<string, number>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly maxUdpInFlight: number;
  readonly tcpLimits: TcpLimits;
  private udpInFlight = 0;
  private closing = false;

  constructor(readonly options: DnsListenerOptions) {
    this.maxUdpInFlight = options.maxUdpInFlight ?? 4096;
    this.tcpLimits = { ...TCP_LIMIT_DEFAULTS, ...options.tcp };
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
      server.listen({ host: address.host, port: address.port, exclusive: !this.options.shared, ipv6Only: address.host.includes(":") }, () => {
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
      udp.bind({ address: address.host, port, exclusive: !this.options.shared }, () => {
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
  handle(message: Uint8Array, ctx: RequestContext): DnsReply | Promise<DnsReply> {
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
    // A StreamingReply is TCP only; over UDP it is dropped (the dispatcher never makes one for UDP).
    if (!(result instanceof Promise)) {
      if (result instanceof Uint8Array) socket.send(result, rinfo.port, rinfo.address);
      return;
    }
    this.udpInFlight++;
    this.track(
      result.then((reply) => {
        this.udpInFlight--;
        if (reply instanceof Uint8Array && !this.closing) socket.send(reply, rinfo.port, rinfo.address);
      }),
    );
  }

  /**
   * A new TCP connection: refused when its prefix holds its share; at the global cap, admitted in place of
   * the connection idle longest, or refused when none is idle.
   */
  private acceptTcp(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const limits = this.tcpLimits;
    const prefix = prefixKey(socket.remoteAddress ?? "", limits);
    if (limits.maxPerPrefix > 0 && (this.perPrefix.get(prefix) ?? 0) >= limits.maxPerPrefix) {
      this.refuse(socket, "prefix_cap");
      return;
    }
    if (this.connections.size >= this.options.maxTcpConnections) {
      const oldest = this.idle.values().next();
      if (oldest.done) {
        this.options.metrics?.tcpRejected.inc();
        this.refuse(socket, "global_cap");
        return;
      }
      oldest.value.close("evicted_idle");
    }
    const connection = new TcpConnection(this, socket, prefix);
    this.connections.add(connection);
    this.perPrefix.set(prefix, (this.perPrefix.get(prefix) ?? 0) + 1);
    this.options.metrics?.tcpConnections.set(this.connections.size);
    connection.start();
  }

  private refuse(socket: Socket, reason: TcpCloseReason): void {
    this.options.metrics?.countTcpClosed(reason);
    socket.on("error", () => undefined);
    socket.destroy();
  }

  /** `connection` has just become idle (true: it goes last in the idle order) or busy again (false). */
  setIdle(connection: TcpConnection, idle: boolean): void {
    if (idle) this.idle.add(connection);
    else this.idle.delete(connection);
  }

  /** `connection` is gone (closed by us or by the client): frees its slot and its prefix's share. */
  forget(connection: TcpConnection): void {
    if (!this.connections.delete(connection)) return;
    this.idle.delete(connection);
    const n = (this.perPrefix.get(connection.prefix) ?? 1) - 1;
    if (n > 0) this.perPrefix.set(connection.prefix, n);
    else this.perPrefix.delete(connection.prefix);
    this.options.metrics?.tcpConnections.set(this.connections.size);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([
      ...this.tcpServers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      ...this.udpSockets.map((u) => new Promise<void>((resolve) => u.close(() => resolve()))),
      (async () => {
        for (const c of [...this.connections]) c.close(undefined);
      })(),
    ]);
    await Promise.allSettled([...this.pending]);
  }
}

/**
 * One TCP connection (RFC 7766): framing, pipelining with a cap on messages in flight, back-pressure from
 * unread answers, and one timer for whichever deadline comes first (`arm`):
 *
 * | state                                   | deadline                       | reason          |
 * |-----------------------------------------|--------------------------------|-----------------|
 * | no whole message yet                    | accepted + initialTimeoutMs    | initial_timeout |
 * | part of a message read, reading on      | its first octet + ioTimeoutMs  | io_timeout      |
 * | nothing outstanding (§6.2.3)            | idle since + tcpIdleTimeoutMs  | idle_timeout    |
 * | unsent answers past maxUnsentBytes      | blocked since + writeTimeoutMs | write_blocked   |
 *
 * While reading is paused by us (in-flight cap, back-pressure) a partial message cannot advance, so its clock
 * stops and starts again when reading resumes.
 */
class TcpConnection {
  private readonly decoder = new FrameDecoder();
  private readonly ctx: RequestContext;
  private readonly maxInFlight: number;
  private readonly maxUnsent: number;
  /** Messages read but not yet handled (reading paused at the in-flight cap or on back-pressure). */
  private backlog: Uint8Array[] = [];
  private backlogHead = 0;
  private inFlight = 0;
  private readonly acceptedAt = performance.now();
  private gotMessage = false;
  /** When the partial message in the decoder began to arrive (undefined: none). */
  private messageStartedAt: number | undefined;
  /** When the connection last became idle (undefined: busy). */
  private idleSince: number | undefined;
  /** When unsent answers went past the bound (undefined: not blocked). */
  private blockedSince: number | undefined;
  private readingPaused = false;
  /** A multi-message reply is being written: no other query is handled meanwhile. */
  private streaming = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private timerReason: TcpCloseReason = "idle_timeout";

  constructor(
    private readonly listener: Listener,
    private readonly socket: Socket,
    readonly prefix: string,
  ) {
    this.maxInFlight = listener.options.maxInFlightPerConnection ?? 64;
    // At least the socket's high-water mark, so a write that crosses the bound returned false and 'drain' follows.
    this.maxUnsent = Math.max(listener.tcpLimits.maxUnsentBytes, socket.writableHighWaterMark);
    this.ctx = { transport: "tcp", remoteAddress: socket.remoteAddress ?? "", remotePort: socket.remotePort ?? 0 };
  }

  start(): void {
    const { socket } = this;
    socket.setNoDelay(true);
    socket.on("data", (data: Buffer) => this.onData(data));
    socket.on("drain", () => this.onDrain());
    socket.on("error", () => socket.destroy());
    socket.on("close", () => this.close(undefined));
    this.arm();
  }

  /** Closes the connection; `reason` says why when it is our doing (counted), undefined when the client left. */
  close(reason: TcpCloseReason | undefined): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.backlog = [];
    this.listener.forget(this);
    if (reason) this.listener.options.metrics?.countTcpClosed(reason);
    this.socket.destroy();
  }

  /** Octets in: every whole message is handled at once (§6.2.1.1); broken framing closes the connection. */
  private onData(data: Buffer): void {
    if (this.closed) return;
    const hadPartial = this.decoder.pending > 0;
    let messages: Uint8Array[];
    try {
      messages = this.decoder.push(new Uint8Array(data.buffer, data.byteOffset, data.length));
    } catch (err) {
      if (err instanceof FramingError) this.listener.options.log.debug({ remote: this.ctx.remoteAddress }, err.message);
      this.close("bad_framing");
      return;
    }
    if (this.decoder.pending === 0) this.messageStartedAt = undefined;
    else if (!hadPartial || messages.length > 0) this.messageStartedAt = performance.now();
    if (messages.length > 0) {
      this.gotMessage = true;
      // A question is activity: the idle clock starts again once it is answered (and the connection goes
      // to the end of the eviction order), even when it is answered within this event.
      if (this.idleSince !== undefined) {
        this.idleSince = undefined;
        this.listener.setIdle(this, false);
      }
      if (this.backlogHead === this.backlog.length) {
        this.backlog = messages;
        this.backlogHead = 0;
      } else {
        for (const m of messages) this.backlog.push(m);
      }
    }
    this.pump();
  }

  /** Handles backlog messages while the in-flight cap and the unsent bound allow, then sets reading and the timer. */
  private pump(): void {
    const { backlog } = this;
    while (this.backlogHead < backlog.length && this.blockedSince === undefined && this.inFlight < this.maxInFlight && !this.streaming && !this.closed) {
      const message = backlog[this.backlogHead++]!;
      if (message.length < MIN_MESSAGE) continue;
      const result = this.listener.handle(message, this.ctx);
      if (!(result instanceof Promise)) {
        if (result instanceof Uint8Array) this.write(result);
        else if (result) {
          this.inFlight++;
          this.listener.track(this.onReply(result));
        }
        continue;
      }
      this.inFlight++;
      this.listener.track(result.then((reply) => this.onReply(reply)));
    }
    if (this.backlogHead === backlog.length && backlog.length > 0) {
      this.backlog = [];
      this.backlogHead = 0;
    }
    if (this.closed) return;
    this.setReading(this.backlogHead === this.backlog.length && this.blockedSince === undefined && this.inFlight < this.maxInFlight && !this.streaming);
    this.arm();
  }

  /** A reply that had to wait: written as it completes (§7: out of order), and the backlog moves on. */
  private async onReply(reply: DnsReply): Promise<void> {
    if (reply !== null && !(reply instanceof Uint8Array) && !this.closed) await this.writeStream(reply);
    this.inFlight--;
    if (this.closed) return;
    if (reply instanceof Uint8Array) this.write(reply);
    this.pump();
  }

  /**
   * Writes a multi-message reply in order, waiting for 'drain' (or the close) whenever the client has left
   * more than the unsent bound unread; the write timeout of `arm` still closes a client that stops reading.
   * Breaking out of the loop (closed, or a throw) returns the iterator, which releases what it reads from.
   */
  private async writeStream(reply: StreamingReply): Promise<void> {
    this.streaming = true;
    try {
      for await (const message of reply.stream) {
        if (this.closed) break;
        this.write(message);
        if (this.blockedSince !== undefined) {
          this.arm();
          await this.drained();
          if (this.closed) break;
        }
      }
    } catch (err) {
      this.listener.options.log.warn({ err: { message: (err as Error).message }, remote: this.ctx.remoteAddress }, "streamed reply failed; closing the connection");
      this.close("stream_failed");
    } finally {
      this.streaming = false;
    }
  }

  /** Resolves once the socket has drained (the blocked state cleared) or closed. */
  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
  }

  private write(reply: Uint8Array): void {
    const { socket } = this;
    if (socket.destroyed) return;
    socket.write(frame(reply));
    if (this.blockedSince === undefined && socket.writableLength > this.maxUnsent) this.blockedSince = performance.now();
  }

  /** Everything written has gone to the kernel: the client reads again. */
  private onDrain(): void {
    if (this.closed || this.blockedSince === undefined) return;
    this.blockedSince = undefined;
    if (this.streaming) this.arm();
    else this.pump();
  }

  private setReading(on: boolean): void {
    if (on === !this.readingPaused) return;
    this.readingPaused = !on;
    if (on) {
      // The partial message's clock starts again: it could not advance while we were not reading.
      if (this.decoder.pending > 0) this.messageStartedAt = performance.now();
      this.socket.resume();
    } else {
      this.socket.pause();
    }
  }

  /**
   * One timer for the earliest deadline of the table above; kept as it is when that deadline has not moved
   * (a trickling client's octets leave its I/O deadline where the first one put it). Runs after every read
   * and reply, so it is written without allocations.
   */
  private arm(): void {
    const now = performance.now();
    const idle = this.inFlight === 0 && this.decoder.pending === 0 && this.backlogHead === this.backlog.length && this.blockedSince === undefined;
    if (idle !== (this.idleSince !== undefined)) {
      this.idleSince = idle ? now : undefined;
      this.listener.setIdle(this, idle);
    }

    const limits = this.listener.tcpLimits;
    let at = Infinity;
    let reason: TcpCloseReason = "idle_timeout";
    if (this.blockedSince !== undefined) {
      at = this.blockedSince + limits.writeTimeoutMs;
      reason = "write_blocked";
    }
    if (this.messageStartedAt !== undefined && !this.readingPaused && this.messageStartedAt + limits.ioTimeoutMs < at) {
      at = this.messageStartedAt + limits.ioTimeoutMs;
      reason = "io_timeout";
    }
    if (!this.gotMessage && this.acceptedAt + limits.initialTimeoutMs < at) {
      at = this.acceptedAt + limits.initialTimeoutMs;
      reason = "initial_timeout";
    }
    if (this.idleSince !== undefined && this.idleSince + this.listener.options.tcpIdleTimeoutMs < at) {
      at = this.idleSince + this.listener.options.tcpIdleTimeoutMs;
      reason = "idle_timeout";
    }

    if (at === this.timerAt && reason === this.timerReason) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timerReason = reason;
    this.timer = at === Infinity ? undefined : setTimeout(() => this.close(reason), Math.max(0, at - now));
  }
}
