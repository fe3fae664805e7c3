/**
 * @module The domain name a record points at: the target of CNAME and DNAME (RFC 1034 §3.6.2, RFC 6672 §2.1),
 * the host of NS, MX and SRV (RFC 1035 §3.3.11, §3.3.9, RFC 2782), which additional-section processing looks
 * up. Rdata is stored uncompressed, so the name is read in place.
 */
import { RRType } from "../dns/constants.ts";
import type { Name } from "../dns/name.ts";
import { WireReader } from "../dns/wire/reader.ts";

/** Octets before the name in each type's rdata. */
const NAME_OFFSET = new Map<number, number>([
  [RRType.NS, 0],
  [RRType.CNAME, 0],
  [RRType.DNAME, 0],
  [RRType.PTR, 0],
  [RRType.MX, 2], // PREFERENCE
  [RRType.SRV, 6], // PRIORITY, WEIGHT, PORT
]);

/**
 * The name in `rdata` of `type`, or null for a type without one or rdata that does not hold a valid name
 * (a transfer may carry damaged data; the answer path must not fail on it).
 */
export function targetName(type: number, rdata: Uint8Array): Name | null {
  const offset = NAME_OFFSET.get(type);
  if (offset === undefined) return null;
  try {
    return new WireReader(rdata, offset).name();
  } catch {
    return null;
  }
}
