/**
 * @module Which TSIG algorithms (RFC 8945 §6) each Debian 12 peer accepts for a signed AXFR, as proven by
 * `peers.test.ts` (every algorithm listed here transfers; every one left out is refused). Tests of our
 * TSIG against a peer loop over this table, never over a hand-picked list.
 *
 * All four build their HMACs on OpenSSL 3 and accept all six, hmac-md5 included (it is on OpenSSL's
 * default provider for HMAC). Note the spellings on the wire: hmac-md5 is HMAC-MD5.SIG-ALG.REG.INT.,
 * the others are their own names (RFC 8945 §6).
 */
import type { PeerKind, TsigAlgorithm } from "./types.ts";
import { TSIG_ALGORITHMS } from "./types.ts";

export const SUPPORTED_TSIG_ALGORITHMS: Readonly<Record<PeerKind, readonly TsigAlgorithm[]>> = {
  knotd: TSIG_ALGORITHMS,
  named: TSIG_ALGORITHMS,
  nsd: TSIG_ALGORITHMS,
  pdns: TSIG_ALGORITHMS,
};
