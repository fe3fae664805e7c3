/**
 * @module The way to the Worker's `/dns-query`, shared by the HTTP/2 DoH front (`doh-front.ts`) and the
 * port-53 front (`query-forward.ts`): one undici `Pool` of keep-alive HTTP/1.1 connections (workerd speaks
 * nothing newer), and the forwarding headers of `contract/forwarded-headers.ts`, which the Worker believes
 * only with the internal token — so they are never built without it.
 */
import { Pool } from "undici";
import { CLIENT_HEADER, TRANSPORT_HEADER, UDP_SIZE_HEADER } from "../../../contract/forwarded-headers.ts";
import type { Transport } from "../request-context.ts";

export const DOH_PATH = "/dns-query";

/**
 * How long an idle connection to the Worker is kept for the next request: less than the 5 s after which
 * workerd (under `wrangler dev`, and `npm start`) closes an idle keep-alive connection, which it does
 * without a `Keep-Alive: timeout=` hint. With a longer timeout (30 s until issue 20), a query sent on a
 * connection idle for about 5 s could race the server's close and fail ("other side closed"): a SERVFAIL
 * that no Worker log shows. A second's margin covers the time from picking a connection to the server
 * reading the request. On Cloudflare's edge connections live longer; reconnecting after 4 s idle costs
 * one handshake on loopback or a warm edge connection, and none while queries keep coming.
 */
export const KEEP_ALIVE_MS = 4_000;

export interface WorkerUpstreamOptions {
  /** The Worker's base URL (origin, optionally with a path prefix), e.g. `http://127.0.0.1:8787`. */
  workerUrl: string;
  /** Keep-alive connections; 16 by default. */
  connections?: number | undefined;
  /** Bound on connecting, and on each wait for headers and for the body. */
  timeoutMs: number;
}

export interface WorkerUpstream {
  pool: Pool;
  /** The path of `/dns-query` under the Worker's base URL. */
  dohPath: string;
  close(): Promise<void>;
}

export function createWorkerUpstream(options: WorkerUpstreamOptions): WorkerUpstream {
  const upstream = new URL(options.workerUrl);
  const pool = new Pool(upstream.origin, {
    connections: options.connections ?? 16,
    keepAliveTimeout: KEEP_ALIVE_MS,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connectTimeout: options.timeoutMs,
  });
  return {
    pool,
    dohPath: `${upstream.pathname.replace(/\/+$/, "")}${DOH_PATH}`,
    close: () => pool.close(),
  };
}

/** What the front knows of the DNS client it forwards for. */
export interface ForwardedFor {
  transport: Transport;
  /** The client's address, IPv4-mapped IPv6 unmapped (the Worker's answerAllow lists expect that). */
  client?: string | undefined;
  /** UDP only: the most the front will send back. */
  udpSize?: number | undefined;
}

/** Strips the `::ffff:` of an IPv4-mapped IPv6 address, as a dual-stack socket reports IPv4 peers. */
export function unmapAddress(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/** The internal token and the forwarding headers for a query from `who`. */
export function forwardingHeaders(internalToken: string, who: ForwardedFor): Record<string, string> {
  const headers: Record<string, string> = { authorization: `Bearer ${internalToken}`, [TRANSPORT_HEADER]: who.transport };
  if (who.client) headers[CLIENT_HEADER] = who.client;
  if (who.transport === "udp" && who.udpSize !== undefined) headers[UDP_SIZE_HEADER] = String(who.udpSize);
  return headers;
}
