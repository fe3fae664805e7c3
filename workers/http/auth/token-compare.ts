/**
 * @module Which configured token a presented bearer token is, compared in constant time. Both sides are
 * hashed with SHA-256 before the comparison, so neither a token's length nor where it first differs shows
 * in the time taken, and the presented token is hashed once however many tokens it is compared with.
 */

const encoder = new TextEncoder();

export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/**
 * Digests of the configured tokens (ADMIN_TOKEN, INTERNAL_TOKEN), kept per isolate: every internal call
 * hashed its expected token anew, which showed in profiles. Only settled values are kept, never a shared
 * promise (workerd does not resume one request on another request's promise).
 */
const expectedDigests = new Map<string, Uint8Array>();

async function expectedDigest(expected: string): Promise<Uint8Array> {
  let digest = expectedDigests.get(expected);
  if (!digest) {
    digest = await sha256(expected);
    if (expectedDigests.size >= 8) expectedDigests.clear();
    expectedDigests.set(expected, digest);
  }
  return digest;
}

/** Equality of two byte strings of equal length, in time that does not depend on where they differ. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * The keys of every candidate whose token equals `presented`, in the candidates' order. A candidate with
 * no token (unset or empty) matches nothing; every set one is compared, whether or not an earlier one
 * matched, so the time taken says nothing about which matched. The presented token is hashed once; this
 * runs on every query the port-53 front forwards, so a warm call awaits that one digest and nothing else.
 */
export async function matchingTokens<K>(presented: string, candidates: readonly (readonly [K, string | undefined])[]): Promise<K[]> {
  const out: K[] = [];
  if (!presented) return out;
  let digest: Uint8Array | undefined;
  for (const [key, token] of candidates) {
    if (!token) continue;
    const expected = expectedDigests.get(token) ?? (await expectedDigest(token));
    digest ??= await sha256(presented);
    if (sameBytes(digest, expected)) out.push(key);
  }
  return out;
}
