/**
 * @module Node's SHA-1 for the NSEC3 hash (RFC 5155 §5, `answer/nsec3-hash.ts`): `createHash` answers at once,
 * where Web Crypto's `crypto.subtle.digest` always gives a promise. The port-53 front injects it (through
 * `QueryContext.sha1`) so its replica answers NSEC3 denial in the call that asked; the Worker keeps Web Crypto.
 */
import { createHash } from "node:crypto";

/** SHA-1 of `data`, as a value. */
export function nodeSha1(data: Uint8Array): Uint8Array {
  const digest = createHash("sha1").update(data).digest();
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}
