/**
 * @module The last check before a packet leaves for a primary: its address must pass the outbound rule of
 * `contract/outbound-address.ts` (no unspecified, broadcast, multicast, link-local or cloud metadata
 * address). The API refuses such a primary already; this catches one that reached the service anyway, from a
 * row written before the rule or by hand. Every SOA query (`soa-query.ts`) and every transfer (`xfr-in.ts`)
 * calls it before it opens a socket, so the refusal costs no packet and its words become the zone's status.
 */
import { outboundAddressProblem } from "../../contract/outbound-address.ts";
import { describePeer, TransferError } from "./transfer-error.ts";

/** @throws TransferError("forbidden-address") when Backstop must not send to `primary`. */
export function assertOutboundAllowed(primary: { address: string; port: number }, what: string): void {
  const problem = outboundAddressProblem(primary.address);
  if (problem === undefined) return;
  throw new TransferError(
    "forbidden-address",
    `not sending our ${what} to ${describePeer(primary.address, primary.port)}: ${problem}, where Backstop never sends; change this zone's primaries`,
  );
}
