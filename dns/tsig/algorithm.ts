/**
 * @module The TSIG HMAC algorithms (RFC 8945 §6) and their names on the wire.
 *
 * hmac-md5 keeps its historic long name `hmac-md5.sig-alg.reg.int.`; the SHA family uses the bare
 * `hmac-shaNNN.`. Operators write the short form (`hmac-md5`, `hmac-sha256`) in every server's config,
 * so both spellings parse, in any case.
 */
import { Name } from "../name.ts";

export type TsigAlgorithm = "hmac-md5" | "hmac-sha1" | "hmac-sha224" | "hmac-sha256" | "hmac-sha384" | "hmac-sha512";

export interface TsigAlgorithmInfo {
  readonly algorithm: TsigAlgorithm;
  /** The algorithm name carried in the TSIG RDATA. */
  readonly wireName: Name;
  /** Hash output length in octets: the full MAC size. */
  readonly size: number;
}

const table: Record<TsigAlgorithm, TsigAlgorithmInfo> = {
  "hmac-md5": { algorithm: "hmac-md5", wireName: Name.parse("hmac-md5.sig-alg.reg.int."), size: 16 },
  "hmac-sha1": { algorithm: "hmac-sha1", wireName: Name.parse("hmac-sha1."), size: 20 },
  "hmac-sha224": { algorithm: "hmac-sha224", wireName: Name.parse("hmac-sha224."), size: 28 },
  "hmac-sha256": { algorithm: "hmac-sha256", wireName: Name.parse("hmac-sha256."), size: 32 },
  "hmac-sha384": { algorithm: "hmac-sha384", wireName: Name.parse("hmac-sha384."), size: 48 },
  "hmac-sha512": { algorithm: "hmac-sha512", wireName: Name.parse("hmac-sha512."), size: 64 },
};

export const TSIG_ALGORITHMS: readonly TsigAlgorithm[] = Object.keys(table) as TsigAlgorithm[];

export function algorithmInfo(algorithm: TsigAlgorithm): TsigAlgorithmInfo {
  return table[algorithm];
}

/** The algorithm a wire name stands for (case-insensitive), or undefined for one we do not implement. */
export function algorithmFromWireName(name: Name): TsigAlgorithm | undefined {
  for (const info of Object.values(table)) if (info.wireName.equals(name)) return info.algorithm;
  return undefined;
}

/**
 * Parses an operator's spelling: `hmac-sha256`, `HMAC-SHA256.`, `hmac-md5` or `hmac-md5.sig-alg.reg.int`.
 * Returns undefined for anything else.
 */
export function parseTsigAlgorithm(text: string): TsigAlgorithm | undefined {
  const bare = text.trim().toLowerCase().replace(/\.$/, "");
  if (bare === "hmac-md5.sig-alg.reg.int") return "hmac-md5";
  return bare in table ? (bare as TsigAlgorithm) : undefined;
}

/**
 * RFC 8945 §5.2.2.1 rule 3: a truncated MAC must keep at least the larger of 10 octets and half the
 * hash output.
 */
export function minimumMacSize(algorithm: TsigAlgorithm): number {
  return Math.max(10, Math.ceil(table[algorithm].size / 2));
}
