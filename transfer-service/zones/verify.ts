/**
 * @module Verify (issue 24): is the zone Backstop serves the zone the primary holds? The hand-run checks that
 * end the migration guide ("SOA serials on both providers, record counts"), run by the service, since it holds
 * the zone's TSIG key and the address the primary's ACL allows.
 *
 * 1. The zone's configuration and served version from the Worker (`zoneForTransfer`, the record stream the
 *    transfers out read): every served record becomes a master-file line in a set.
 * 2. The primary (each in order until one answers): its SOA (`remote/soa-query.ts`), then an AXFR
 *    (`remote/xfr-in.ts`) into a sink that only compares: a line the served set holds is ticked off, any other
 *    is `missing`; what is left in the set is `extra`. Both go through the outbound guard, with the zone's key.
 * 3. Each published nameserver (the served apex NS set) is asked for the SOA: the guide's "they should
 *    converge". Addresses come only from `BACKSTOP_VERIFY_NAMESERVERS` (name → address:port, which wins) or
 *    from in-zone glue (port 53); an out-of-zone name without an entry is reported, not resolved: the service
 *    never asks a resolver, so what it asks is what the operator configured or the zone itself says.
 *
 * Memory: the served version's lines are held once (a 100k-record zone is ~10 MB); the primary's AXFR is
 * compared as it streams. Records compare as presentation lines (owner lowercased, TTL, class, type, rdata),
 * so a TTL change is a difference, as it is to a resolver.
 */
import { Name } from "../../dns/name.ts";
import { RRType } from "../../dns/constants.ts";
import type { ResourceRecord } from "../../dns/message.ts";
import { rdataToText } from "../../dns/rdata/index.ts";
import { soaSerial } from "../../dns/rdata/soa.ts";
import { formatRecord } from "../../dns/zonefile/printer.ts";
import type { HmacProvider } from "../../dns/tsig/hmac.ts";
import { prepareTsigKey, type TsigKey } from "../../dns/tsig/key.ts";
import { VERIFY_LIST_LIMIT, type NameserverCheck, type VerifyResult } from "../../contract/control.ts";
import type { ZoneConfigList } from "../../contract/internal-v1.ts";
import { type ListenAddress, parseListenAddress } from "../addresses.ts";
import { querySoa, type PrimaryTarget } from "../remote/soa-query.ts";
import { describePeer } from "../remote/transfer-error.ts";
import { transfer, type XfrLimits, type XfrSink } from "../remote/xfr-in.ts";
import { recordBatches } from "../server/xfr-out/record-batches.ts";
import type { TransferSource } from "../server/xfr-out/transfer-out.ts";

/** What verify reads from the Worker: the same two reads as transfers out. */
export type VerifySource = Pick<TransferSource, "zoneForTransfer" | "versionRecords">;

/** Nameserver name (lowercase, no trailing dot) → the addresses to ask it at. */
export type NameserverMap = Record<string, ListenAddress[]>;

export interface VerifyOptions {
  source: VerifySource;
  hmac: HmacProvider;
  soa: { timeoutMs: number; tries: number };
  /** The service's transfer limits; the zone's own win. */
  limits: XfrLimits;
  nameservers: NameserverMap;
  spoolDir?: string | undefined;
}

/** The zone is not one the Worker knows (404), or cannot be verified (409: no primaries, a primary zone). */
export class VerifyError extends Error {
  constructor(
    readonly status: 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Parses `BACKSTOP_VERIFY_NAMESERVERS`: comma-separated `name=address[:port]` (`[v6]:port`), port 53 by
 * default; a name may appear several times.
 * @throws Error naming the bad entry.
 */
export function parseNameserverMap(text: string): NameserverMap {
  const out: NameserverMap = {};
  for (const part of text.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new Error(`"${part}" is not name=address[:port]`);
    const name = part.slice(0, eq).trim().toLowerCase().replace(/\.$/, "");
    const where = part.slice(eq + 1).trim();
    let address: ListenAddress;
    if (/^\[.*\]:\d+$/.test(where) || /^[^:]+:\d+$/.test(where)) address = parseListenAddress(where);
    else address = { host: where.replace(/^\[|\]$/g, ""), port: 53 };
    if (!/^[0-9a-fA-F:.]+$/.test(address.host)) throw new Error(`"${part}": ${address.host} is not an IP address`);
    (out[name] ??= []).push(address);
  }
  return out;
}

/** A record as one comparable master-file line: absolute owner in lowercase, TTL, class, type, rdata. */
export function recordLine(rr: ResourceRecord): string {
  return formatRecord({ ...rr, name: Name.parseAbsolute(rr.name.toString().toLowerCase()) }, {});
}

const noDot = (name: Name | string): string => name.toString().replace(/\.$/, "").toLowerCase();

/** What the served version holds: its lines, serial, apex NS targets and in-zone glue. */
interface Served {
  lines: Set<string>;
  serial: number | null;
  count: number;
  nsNames: string[];
  glue: Map<string, string[]>;
}

async function readServed(source: VerifySource, zone: string, version: number | null): Promise<Served> {
  const served: Served = { lines: new Set(), serial: null, count: 0, nsNames: [], glue: new Map() };
  if (version === null) return served;
  const stream = await source.versionRecords(zone, version);
  if (!stream) return served;
  const apex = Name.parseAbsolute(zone);
  try {
    for await (const batch of recordBatches(stream.chunks)) {
      for (const rr of batch) {
        served.lines.add(recordLine(rr));
        served.count++;
        if (rr.type === RRType.SOA && rr.name.equals(apex)) served.serial = soaSerial(rr.rdata);
        if (rr.type === RRType.NS && rr.name.equals(apex)) served.nsNames.push(noDot(rdataToText(rr.type, rr.rdata)));
        // Glue of the apex NS targets only: the stream is in canonical order, so the apex (and its NS set)
        // comes first; an address at the apex itself is kept whatever its place in the apex node.
        if (rr.type === RRType.A || rr.type === RRType.AAAA) {
          const owner = noDot(rr.name);
          if (rr.name.equals(apex) || served.nsNames.includes(owner)) served.glue.set(owner, [...(served.glue.get(owner) ?? []), rdataToText(rr.type, rr.rdata)]);
        }
      }
    }
  } finally {
    stream.cancel();
  }
  return served;
}

/** Compares the primary's records with the served lines as the AXFR streams in. */
class ComparingSink implements XfrSink {
  readonly missing: string[] = [];
  missingTotal = 0;
  count = 0;
  /** Served lines not seen at the primary yet; what is left at the end is `extra`. */
  constructor(readonly remaining: Set<string>) {}
  private take(rr: ResourceRecord): void {
    this.count++;
    const line = recordLine(rr);
    if (this.remaining.delete(line)) return;
    this.missingTotal++;
    if (this.missing.length < VERIFY_LIST_LIMIT) this.missing.push(line);
  }
  beginFull(soa: ResourceRecord): Promise<void> {
    this.take(soa);
    return Promise.resolve();
  }
  beginIncremental(): Promise<void> {
    return Promise.reject(new Error("an AXFR answered with changesets"));
  }
  beginChangeset(): Promise<void> {
    return this.beginIncremental();
  }
  beginAdditions(): Promise<void> {
    return this.beginIncremental();
  }
  records(chunk: ResourceRecord[]): Promise<void> {
    for (const rr of chunk) this.take(rr);
    return Promise.resolve();
  }
  end(): Promise<void> {
    return Promise.resolve();
  }
}

async function zoneKeys(list: ZoneConfigList, hmac: HmacProvider): Promise<TsigKey[]> {
  const keys: TsigKey[] = [];
  // An unusable key is left out; a primary that names it is then reported, not asked unsigned.
  for (const k of list.keys) {
    try {
      keys.push(await prepareTsigKey(k, hmac));
    } catch {
      // Left out: a primary that names it is reported below, never asked unsigned.
    }
  }
  return keys;
}

/** Verifies one zone. @throws VerifyError when it is not a zone here or has no primary to compare with. */
export async function verifyZone(zone: string, options: VerifyOptions): Promise<VerifyResult> {
  const started = Date.now();
  const name = noDot(zone);
  const list = await options.source.zoneForTransfer(name);
  const config = list?.zones[0];
  if (!list || !config) throw new VerifyError(404, `zone ${name} is not a zone here`);
  if (config.primaries.length === 0) throw new VerifyError(409, `zone ${name} has no primaries to compare with (model ${config.model})`);

  const served = await readServed(options.source, name, config.currentVersion);
  const servedCount = served.count;
  const apex = Name.parseAbsolute(name);
  const keys = await zoneKeys(list, options.hmac);
  const limits: XfrLimits = {
    ...options.limits,
    maxRecords: config.limits.maxRecords ?? options.limits.maxRecords,
    maxBytes: config.limits.maxBytes ?? options.limits.maxBytes,
  };

  let primary: string | null = null;
  let error: string | undefined;
  let compared: { serial: number; sink: ComparingSink } | undefined;
  const errors: string[] = [];
  for (const p of config.primaries) {
    primary = describePeer(p.address, p.port);
    const keyName = p.tsigKey ?? config.tsigKey ?? null;
    const key = keyName === null ? undefined : keys.find((k) => k.name.equals(Name.parseAbsolute(keyName)));
    if (keyName !== null && !key) {
      errors.push(`${primary}: TSIG key "${keyName}" is not configured or unusable`);
      continue;
    }
    const target: PrimaryTarget = { address: p.address, port: p.port, key };
    try {
      await querySoa(apex, target, options.soa);
      // A fresh copy per primary: a transfer that fails half-way must not leave lines ticked off.
      const sink = new ComparingSink(new Set(served.lines));
      const result = await transfer({ kind: "axfr", zone: apex, primary: target, sink, limits, spoolDir: options.spoolDir });
      compared = { serial: result.serial, sink };
      break;
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  if (!compared) error = errors.join("; ");

  const extraLines = compared ? [...compared.sink.remaining] : [];
  const nameservers = await checkNameservers(apex, served, options);
  const primarySerial = compared?.serial ?? null;
  const result: VerifyResult = {
    zone: name,
    match: compared !== undefined && compared.sink.missingTotal === 0 && extraLines.length === 0,
    servedSerial: served.serial,
    primarySerial,
    servedCount,
    primaryCount: compared?.sink.count ?? null,
    missing: compared?.sink.missing ?? [],
    extra: extraLines.slice(0, VERIFY_LIST_LIMIT),
    missingTotal: compared?.sink.missingTotal ?? 0,
    extraTotal: extraLines.length,
    primary,
    nameservers,
    converged: primarySerial !== null && nameservers.length > 0 && nameservers.every((n) => n.serial === primarySerial),
    checkedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
  };
  if (error !== undefined) result.error = error.slice(0, 2000);
  return result;
}

/** Asks every address of every served apex NS for the zone's SOA, all at once (a zone has a handful). */
async function checkNameservers(apex: Name, served: Served, options: VerifyOptions): Promise<NameserverCheck[]> {
  const checks: Promise<NameserverCheck>[] = [];
  for (const ns of [...new Set(served.nsNames)]) {
    const configured = options.nameservers[ns];
    const inZone = ns === noDot(apex) || ns.endsWith(`.${noDot(apex)}`);
    const addresses = configured ?? (inZone ? (served.glue.get(ns) ?? []).map((host) => ({ host, port: 53 })) : []);
    if (addresses.length === 0) {
      checks.push(
        Promise.resolve({
          name: ns,
          address: null,
          serial: null,
          error: inZone
            ? "no glue address in the zone; add one to BACKSTOP_VERIFY_NAMESERVERS"
            : "out-of-zone name: the service resolves nothing; add its address to BACKSTOP_VERIFY_NAMESERVERS",
        }),
      );
      continue;
    }
    for (const a of addresses) {
      const address = describePeer(a.host, a.port);
      checks.push(
        querySoa(apex, { address: a.host, port: a.port }, options.soa).then(
          (soa) => ({ name: ns, address, serial: soa.serial }),
          (err: unknown) => ({ name: ns, address, serial: null, error: (err as Error).message.slice(0, 500) }),
        ),
      );
    }
  }
  return Promise.all(checks);
}
