/**
 * @module The NSEC3 hash (RFC 5155 §5): IH(salt, x, 0) = H(x || salt), IH(salt, x, k) = H(IH(salt, x, k-1) ||
 * salt), with H = SHA-1 (hash algorithm 1, the only one defined) over the name's canonical wire form, and the
 * owner of its NSEC3 record: the base32hex of the digest as the first label under the zone's apex (§3).
 * The SHA-1 is the host's ({@link Sha1}): Web Crypto's by default (runtime-neutral, but it always answers with a
 * promise), or one that answers at once, which the port-53 front injects (`dns/sha1.node.ts`, Node's
 * `createHash`) through `QueryContext.sha1` so its replica proves NSEC3 denial in the call that asked (issue 27,
 * session 9). One hash loop for both; the digest function is the only difference.
 */
import { concatBytes } from "../dns/bytes.ts";
import { andThen, type Awaitable, isPromise } from "./awaitable.ts";
import type { Name } from "../dns/name.ts";
import { toBase32Hex } from "../dns/rdata/base32hex.ts";

/** The parameters of a chain, as NSEC3PARAM carries them (RFC 5155 §4.2). */
export interface Nsec3Params {
  algorithm: number;
  flags: number;
  iterations: number;
  salt: Uint8Array;
}

/** NSEC3PARAM (or NSEC3) rdata → its parameters; undefined when too short to hold them. */
export function nsec3Params(rdata: Uint8Array): Nsec3Params | undefined {
  if (rdata.length < 5) return undefined;
  const saltLength = rdata[4]!;
  if (rdata.length < 5 + saltLength) return undefined;
  return { algorithm: rdata[0]!, flags: rdata[1]!, iterations: (rdata[2]! << 8) | rdata[3]!, salt: rdata.slice(5, 5 + saltLength) };
}

/** True when an NSEC3 record's rdata belongs to the chain of `params` (algorithm, iterations, salt). */
export function inChain(nsec3Rdata: Uint8Array, params: Nsec3Params): boolean {
  const p = nsec3Params(nsec3Rdata);
  if (!p || p.algorithm !== params.algorithm || p.iterations !== params.iterations || p.salt.length !== params.salt.length) return false;
  for (let i = 0; i < p.salt.length; i++) if (p.salt[i] !== params.salt[i]) return false;
  return true;
}

/** RFC 5155 §6: the Opt-Out flag of an NSEC3 record. */
export function optOut(nsec3Rdata: Uint8Array): boolean {
  return nsec3Rdata.length > 1 && (nsec3Rdata[1]! & 1) === 1;
}


/** A SHA-1 digest of `data`: at once, or a promise of it. */
export type Sha1 = (data: Uint8Array<ArrayBuffer>) => Awaitable<Uint8Array>;

/** Web Crypto's SHA-1 (the Worker's; always a promise). */
export const webSha1: Sha1 = async (data) => new Uint8Array(await crypto.subtle.digest("SHA-1", data));

/**
 * The iterated SHA-1 digest of `name` (RFC 5155 §5): a value when `sha1` answers at once, else a promise. The
 * loop runs in place while the digests are values and continues after a promise from where it stood.
 */
export function nsec3Digest(name: Name, params: Nsec3Params, sha1: Sha1 = webSha1): Awaitable<Uint8Array> {
  let done = 0;
  const iterate = (digest: Uint8Array): Awaitable<Uint8Array> => {
    while (done < params.iterations) {
      done++;
      const next = sha1(concatBytes([digest, params.salt]));
      if (isPromise(next)) return next.then(iterate);
      digest = next;
    }
    return digest;
  };
  return andThen(sha1(concatBytes([name.toCanonicalWire(), params.salt])), iterate);
}

/** The owner name of the NSEC3 record for `name` in the zone at `apex`. */
export function hashedOwner(name: Name, apex: Name, params: Nsec3Params, sha1: Sha1 = webSha1): Awaitable<Name> {
  return andThen(nsec3Digest(name, params, sha1), (digest) => apex.child(toBase32Hex(digest).toLowerCase()));
}
