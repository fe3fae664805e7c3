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
 * Handles one DNS message: the reply's wire form, or null to send nothing — at once when it is ready, or as a
 * promise when it has to wait. Must not throw or reject.
 */
export type DnsHandler = (message: Uint8Array, ctx: RequestContext) => Uint8Array | null | Promise<Uint8Array | null>;
