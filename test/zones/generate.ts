/**
 * @module Deterministic test zones of any size: an SOA, an NS with its glue, then a mix of A, AAAA, TXT,
 * MX, CNAME and SRV records, each at its own owner name.
 *
 * Record i depends only on (seed, i), not on a running random stream, so a zone of N records is a
 * prefix of the same seed's zone of N + k records: growing or shrinking `records` between two versions
 * gives a test a known IXFR difference (additions or deletions). Output is one record per line with
 * absolute lower-case owners and each type's canonical presentation (AAAA as glibc's inet_ntop prints
 * it, TXT as one quoted string), so `kdig` output of a transfer can be compared line by line with
 * {@link zoneRecords}. Small zones come back as a string; big ones stream to a file with bounded memory.
 */
import { once } from "node:events";
import { createWriteStream } from "node:fs";

export interface SoaTimers {
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

export interface GenerateZoneOptions {
  /** Zone origin, e.g. "example.test" (a trailing dot is optional). */
  origin: string;
  /** Total number of resource records in the zone, SOA, NS and glue included (at least 3). */
  records: number;
  /** Same seed, same zone. */
  seed: number;
  /** SOA serial. Default 1. */
  serial?: number;
  /** SOA timers (RFC 1035 §3.3.13). Default 3600/600/86400/300. */
  soa?: Partial<SoaTimers>;
  /** Address of the NS glue `ns1.<origin>`. Default 127.0.0.1. */
  nsAddress?: string;
}

/** One record, in the presentation every DNS tool prints: absolute owner, TTL, type, rdata. */
export interface ZoneRecord {
  owner: string;
  ttl: number;
  type: "SOA" | "NS" | "A" | "AAAA" | "TXT" | "MX" | "CNAME" | "SRV";
  data: string;
}

const TTLS = [60, 300, 3600, 86400] as const;
const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett"];

/** A 32-bit mix of (seed, i) (the splitmix32/murmur3 finaliser): cheap, stateless, well spread. */
function mix(seed: number, i: number, salt: number): number {
  let h = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(i + 1, 0xc2b2ae35) + Math.imul(salt, 0x27d4eb2f)) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** `label` under origin `o` (absolute): `host-1.example.test.`, or `host-1.` under the root. */
const under = (label: string, o: string) => (o === "." ? `${label}.` : `${label}.${o}`);

function absoluteOrigin(origin: string): string {
  const bare = origin.replace(/\.$/, "").toLowerCase();
  return bare === "" ? "." : `${bare}.`;
}

const isAddressRecord = (seed: number, j: number) => mix(seed, j, 0) % 100 < 40;

/**
 * An in-zone name with an A record for MX, SRV and CNAME to point at: some `host-j` with j < i (so it
 * exists in every zone that holds record i), else `ns1`. named warns at load about MX and SRV targets
 * without addresses, which would flood its log for big zones.
 */
function addressTarget(seed: number, o: string, i: number, start: number): string {
  for (let k = 0; k < 64 && k < i; k++) {
    const j = (start + k) % i;
    if (isAddressRecord(seed, j)) return under(`host-${j}`, o);
  }
  return under("ns1", o);
}

/** The i-th generated record (0-based, after the SOA, NS and glue). */
export function generatedRecord(origin: string, seed: number, i: number): ZoneRecord {
  const o = absoluteOrigin(origin);
  const r = mix(seed, i, 0);
  const ttl = TTLS[mix(seed, i, 1) % TTLS.length] as number;
  const pick = r % 100;
  const other = mix(seed, i, 2);
  if (isAddressRecord(seed, i)) {
    return { owner: under(`host-${i}`, o), ttl, type: "A", data: `10.${(other >>> 16) & 255}.${(other >>> 8) & 255}.${other & 255}` };
  }
  if (pick < 60) {
    // Groups hi and lo are never adjacent and the rest are non-zero, so no run of two zero groups exists
    // and the RFC 5952 form is exactly this, uncompressed.
    return { owner: under(`v6-${i}`, o), ttl, type: "AAAA", data: `2001:db8:${(other >>> 16).toString(16)}:a:${(other & 0xffff).toString(16)}:b:c:1` };
  }
  if (pick < 75) {
    const word = WORDS[other % WORDS.length] as string;
    return { owner: under(`txt-${i}`, o), ttl, type: "TXT", data: `"v=backstop1 ${word} seed=${seed} n=${i}"` };
  }
  if (pick < 85) {
    return { owner: under(`mx-${i}`, o), ttl, type: "MX", data: `${(other % 5) * 10} ${addressTarget(seed, o, i, other)}` };
  }
  if (pick < 95) {
    return { owner: under(`alias-${i}`, o), ttl, type: "CNAME", data: addressTarget(seed, o, i, other) };
  }
  return { owner: under(`_sip._tcp.srv-${i}`, o), ttl, type: "SRV", data: `${other % 20} ${(other >>> 8) % 100} 5060 ${addressTarget(seed, o, i, other >>> 4)}` };
}

/** Every record of the zone in order: SOA, NS, glue, then `records - 3` generated ones. */
export function* zoneRecords(opts: GenerateZoneOptions): Generator<ZoneRecord> {
  if (!Number.isInteger(opts.records) || opts.records < 3) throw new RangeError("records must be an integer ≥ 3");
  const o = absoluteOrigin(opts.origin);
  const t = { refresh: 3600, retry: 600, expire: 86400, minimum: 300, ...opts.soa };
  yield {
    owner: o,
    ttl: 3600,
    type: "SOA",
    data: `${under("ns1", o)} ${under("hostmaster", o)} ${opts.serial ?? 1} ${t.refresh} ${t.retry} ${t.expire} ${t.minimum}`,
  };
  yield { owner: o, ttl: 3600, type: "NS", data: under("ns1", o) };
  yield { owner: under("ns1", o), ttl: 3600, type: "A", data: opts.nsAddress ?? "127.0.0.1" };
  for (let i = 0; i < opts.records - 3; i++) yield generatedRecord(opts.origin, opts.seed, i);
}

/** A record as one master-file line. */
export function formatRecord(r: ZoneRecord): string {
  return `${r.owner} ${r.ttl} IN ${r.type} ${r.data}`;
}

/** The whole zone as master-file text. Use {@link writeZoneFile} beyond a few hundred thousand records. */
export function generateZone(opts: GenerateZoneOptions): string {
  const lines = [`$ORIGIN ${absoluteOrigin(opts.origin)}`];
  for (const r of zoneRecords(opts)) lines.push(formatRecord(r));
  return `${lines.join("\n")}\n`;
}

/** Stream the zone to `path` in bounded memory (1M records ≈ 60 MB on disk, a few MB in memory). */
export async function writeZoneFile(path: string, opts: GenerateZoneOptions): Promise<{ path: string; records: number; bytes: number }> {
  const out = createWriteStream(path);
  const failed = once(out, "error").then(([err]) => {
    throw err;
  });
  failed.catch(() => undefined); // raced below; this only keeps an unraced failure from going unhandled
  let bytes = 0;
  let records = 0;
  let chunk: string[] = [`$ORIGIN ${absoluteOrigin(opts.origin)}`];
  const flush = async () => {
    const text = `${chunk.join("\n")}\n`;
    chunk = [];
    bytes += Buffer.byteLength(text);
    if (!out.write(text)) await Promise.race([once(out, "drain"), failed]);
  };
  for (const r of zoneRecords(opts)) {
    chunk.push(formatRecord(r));
    records++;
    if (chunk.length >= 2000) await flush();
  }
  if (chunk.length) await flush();
  out.end();
  await Promise.race([once(out, "finish"), failed]);
  return { path, records, bytes };
}
