/**
 * @module The headers the port-53 front sends with a query it forwards to `/dns-query` (docs/architecture.md,
 * "one answer path, told the transport"). They are believed only on a request carrying the internal token
 * (`http/auth`, resolved in `index.ts`); on any other request they are ignored, so a DoH client cannot
 * claim to be someone else or ask for UDP-sized answers.
 *
 *   X-Backstop-Transport: udp | tcp   how the query reached port 53 (UDP answers are truncated, RFC 8482 ANY)
 *   X-Backstop-Udp-Size:  512–65535   the most the front will send back over UDP (caps the OPT's size)
 *   X-Backstop-Client:    IP address  the DNS client's address, for the zone's answerAllow list
 */
import type { Transport } from "../../answer/any.ts";
import { CLIENT_HEADER, TRANSPORT_HEADER, UDP_SIZE_HEADER } from "../../contract/forwarded-headers.ts";

export interface Forwarded {
  transport: Transport;
  udpLimit?: number | undefined;
  clientAddress?: string | undefined;
}

/** Reads the forwarding headers; undefined for ones that are missing or malformed. */
export function readForwarded(header: (name: string) => string | undefined): Forwarded {
  const transport = header(TRANSPORT_HEADER)?.trim().toLowerCase() === "udp" ? "udp" : "tcp";
  const sizeText = header(UDP_SIZE_HEADER)?.trim();
  const size = sizeText && /^\d{1,5}$/.test(sizeText) ? Number(sizeText) : undefined;
  const udpLimit = size !== undefined && size >= 512 && size <= 65535 ? size : undefined;
  const client = header(CLIENT_HEADER)?.trim() || undefined;
  return { transport, udpLimit, clientAddress: client };
}
