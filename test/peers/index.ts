/**
 * @module The real-peer harness in one import: start functions for knotd, named, nsd and pdns_server,
 * keyed by kind so a test can run one scenario against all four:
 *
 * ```ts
 * for (const [kind, start] of Object.entries(PEERS)) { const peer = await start({ zones, keys }); … }
 * ```
 */
import { startKnotd } from "./knotd.ts";
import { startNamed } from "./named.ts";
import { startNsd } from "./nsd.ts";
import { startPdns } from "./pdns.ts";
import type { PeerKind, StartPeer } from "./types.ts";

export const PEERS: Readonly<Record<PeerKind, StartPeer>> = {
  knotd: startKnotd,
  named: startNamed,
  nsd: startNsd,
  pdns: startPdns,
};

/**
 * How each peer answers an IXFR (RFC 1995) from an older serial after its zone file changed, as
 * `peers.test.ts` proves:
 * - "incremental": the difference (knotd's journal, named's `ixfr-from-differences`);
 * - "axfr-style": the whole zone in AXFR form (nsd 4.6, RFC 1995 §4 allows it);
 * - "single-soa": only its current SOA, newer than the client's (pdns 4.7 keeps no history). That is not
 *   "up to date" (RFC 1995 §2): the serial is newer, and a secondary must fall back to AXFR.
 */
export const IXFR_ANSWER: Readonly<Record<PeerKind, "incremental" | "axfr-style" | "single-soa">> = {
  knotd: "incremental",
  named: "incremental",
  nsd: "axfr-style",
  pdns: "single-soa",
};

/**
 * What each peer answers to an AXFR of a keyed zone that it refuses, as kdig reports it (the RCODE,
 * or the TSIG error of RFC 8945 §5.2 when the peer signs its refusal). Proven by `peers.test.ts`.
 * "wrongAlgorithm" is the right name and secret under another algorithm.
 */
export const AXFR_REFUSAL: Readonly<
  Record<PeerKind, Readonly<Record<"unsigned" | "wrongSecret" | "wrongKeyName" | "wrongAlgorithm", string>>>
> = {
  knotd: { unsigned: "NOTAUTH", wrongSecret: "BADSIG", wrongKeyName: "BADKEY", wrongAlgorithm: "BADKEY" },
  named: { unsigned: "REFUSED", wrongSecret: "BADSIG", wrongKeyName: "BADKEY", wrongAlgorithm: "BADKEY" },
  nsd: { unsigned: "REFUSED", wrongSecret: "BADSIG", wrongKeyName: "BADKEY", wrongAlgorithm: "REFUSED" },
  // pdns says NOTAUTH for every TSIG failure, without a TSIG error code.
  pdns: { unsigned: "NOTAUTH", wrongSecret: "NOTAUTH", wrongKeyName: "NOTAUTH", wrongAlgorithm: "NOTAUTH" },
};

/**
 * Whether a peer's AXFR carries exactly the records of the zone it was given, proven with the
 * every-type fixture (`test/zones/every-type.test.ts`): unsigned, and signed by `signZone` and served
 * as presigned. knotd, named and nsd are faithful. pdns 4.7 (gsqlite3) is not:
 * - unsigned: it leaves out the apex DNSKEY, CDS and CDNSKEY, which it considers its own to manage;
 * - presigned: it sends every NSEC/NSEC3 twice and, for NSEC3, adds NSEC3 records over the NSEC3
 *   owner names. A secondary must drop duplicate RRs (RFC 2181 §5) to cope with the first; tests of
 *   a DNSSEC zone carried byte-exact need knotd, named or nsd as primary.
 */
export const AXFR_FAITHFUL: Readonly<Record<PeerKind, { unsigned: boolean; presigned: boolean }>> = {
  knotd: { unsigned: true, presigned: true },
  named: { unsigned: true, presigned: true },
  nsd: { unsigned: true, presigned: true },
  pdns: { unsigned: false, presigned: false },
};

/** Over which transport each peer sends NOTIFY: knotd 3.2 uses TCP, the others UDP. */
export const NOTIFY_TRANSPORT: Readonly<Record<PeerKind, "udp" | "tcp">> = { knotd: "tcp", named: "udp", nsd: "udp", pdns: "udp" };

export { startKnotd, startNamed, startNsd, startPdns };
export { PeerStartError } from "./launch.ts";
export { SUPPORTED_TSIG_ALGORITHMS } from "./tsig-algorithms.ts";
export { freePort, freePorts } from "./ports.ts";
export { kdig, recordLine } from "./kdig.ts";
export { startNotifyCatcher, OPCODE_NOTIFY } from "./notify-catcher.ts";
export { startFaultProxy } from "./fault-proxy.ts";
export type { Fault, FaultProxy } from "./fault-proxy.ts";
export type { CaughtNotify, NotifyCatcher } from "./notify-catcher.ts";
export type { PeerHandle, PeerKind, PeerOptions, StartPeer, TsigAlgorithm, TsigKey, ZoneSpec, NotifyTarget } from "./types.ts";
export { TSIG_ALGORITHMS } from "./types.ts";
