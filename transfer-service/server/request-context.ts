/**
 * @module Who sent a DNS message and how: what every handler of the DNS port (queries, NOTIFY, and later
 * transfers out) is told about a message, apart from the listener that received it.
 */

export type Transport = "udp" | "tcp";

/** Who sent a message and how. */
export interface RequestContext {
  transport: Transport;
  /** The peer's address as the socket reports it (IPv4-mapped IPv6 addresses are unmapped by the ACL). */
  remoteAddress: string;
  remotePort: number;
}

/**
 * A reply of many messages (a zone transfer out, RFC 5936), TCP only: the listener writes them in order as
 * the iterable yields them, waits for the socket to drain whenever the client has left too much unread, and
 * handles nothing else on that connection until the last one is written. A throw ends the stream and closes
 * the connection (a transfer cut short is what RFC 5936 §4.1 lets a client detect).
 */
export interface StreamingReply {
  stream: AsyncIterable<Uint8Array>;
}

export type DnsReply = Uint8Array | StreamingReply | null;

/**
 * Handles one DNS message: the reply's wire form, or null to send nothing — at once when it is ready, or as a
 * promise when it has to wait. Must not throw or reject.
 */
export type DnsHandler = (message: Uint8Array, ctx: RequestContext) => DnsReply | Promise<DnsReply>;
