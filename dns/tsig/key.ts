/**
 * @module A TSIG key ready to sign: its name, its algorithm and the prepared HMAC. The secret itself is
 * handed to the HMAC provider and not kept here, so a key object can be logged without leaking it.
 */
import { Name, NameError } from "../name.ts";
import type { TsigAlgorithm } from "./algorithm.ts";
import { parseTsigAlgorithm } from "./algorithm.ts";
import { TsigError } from "./errors.ts";
import type { HmacKey, HmacProvider } from "./hmac.ts";

export interface TsigKey {
  /** Key name as configured; compared case-insensitively, signed in lowercase (RFC 8945 §4.3.3). */
  readonly name: Name;
  readonly algorithm: TsigAlgorithm;
  readonly hmac: HmacKey;
}

/** A key as an operator configures it. */
export interface TsigKeySpec {
  /** Key name; a trailing dot is optional. */
  name: string | Name;
  /** `hmac-sha256`, `hmac-md5`, `hmac-md5.sig-alg.reg.int.`… in any case. */
  algorithm: string;
  /** The shared secret: raw octets, or base64 as in every server's config. */
  secret: Uint8Array | string;
}

/** Decodes standard base64 (padding optional, whitespace ignored); undefined when it is not base64. */
export function decodeBase64(text: string): Uint8Array | undefined {
  const clean = text.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) return undefined;
  const padded = clean.padEnd(clean.length + ((4 - (clean.length % 4)) % 4), "=");
  try {
    const binary = atob(padded);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

/**
 * Checks a configured key and prepares its HMAC.
 * @throws TsigError("invalid-key") for a bad name, algorithm or secret; TsigError("unsupported-algorithm")
 * when the provider cannot compute the algorithm.
 */
export async function prepareTsigKey(spec: TsigKeySpec, provider: HmacProvider): Promise<TsigKey> {
  let name: Name;
  try {
    name = typeof spec.name === "string" ? Name.parseAbsolute(spec.name) : spec.name;
  } catch (err) {
    if (err instanceof NameError) throw new TsigError("invalid-key", `TSIG key name "${spec.name}" is not a domain name: ${err.message}`);
    throw err;
  }
  const algorithm = parseTsigAlgorithm(spec.algorithm);
  if (algorithm === undefined) {
    throw new TsigError("invalid-key", `TSIG key "${name}": unknown algorithm "${spec.algorithm}"`, { keyName: name.toString() });
  }
  const secret = typeof spec.secret === "string" ? decodeBase64(spec.secret) : spec.secret;
  if (secret === undefined || secret.length === 0) {
    throw new TsigError("invalid-key", `TSIG key "${name}": the secret is not valid base64, or is empty`, { keyName: name.toString() });
  }
  return { name, algorithm, hmac: await provider(algorithm, secret) };
}
