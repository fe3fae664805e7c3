/**
 * @module A zone in memory: RRsets by owner name, kept so they can be walked in canonical order
 * (see canonical-order.ts), with the record count and the serial of the apex SOA.
 *
 * Records are checked on the way in: owner at or below the origin, the zone's class, rdata that follows
 * its type's layout. The same record twice is stored once (RFC 2181 §5).
 *
 * Test support: the zone-file interop tests and zone.test.ts build zones with it; nothing at run time does
 * (the Worker keeps zones as canonical-order blocks in D1, workers/store/).
 */
import { RRClass, RRType, typeToString } from "../../constants.ts";
import type { Name } from "../../name.ts";
import { codecs } from "../../rdata/index.ts";
import { RdataError } from "../../rdata/rdata-error.ts";
import type { ZoneRecord } from "../../zonefile/parser.ts";
import { coveredType, RRset } from "./rrset.ts";
import { ZoneError } from "./zone-error.ts";

/** The RRsets at one owner name, kept in canonical order: by type, RRSIGs by covered type. */
export class ZoneNode {
  /** A sorted array rather than a Map: a name holds a handful of types, and a Map per name costs memory. */
  readonly rrsets: RRset[] = [];
  constructor(readonly name: Name) {}

  get(key: number): RRset | undefined {
    for (const set of this.rrsets) if (set.typeKey === key) return set;
    return undefined;
  }

  insert(set: RRset): void {
    let at = this.rrsets.length;
    while (at > 0 && this.rrsets[at - 1]!.typeKey > set.typeKey) at--;
    this.rrsets.splice(at, 0, set);
  }

  remove(key: number): void {
    const at = this.rrsets.findIndex((set) => set.typeKey === key);
    if (at >= 0) this.rrsets.splice(at, 1);
  }

  /** RRsets in canonical order. */
  sorted(): readonly RRset[] {
    return this.rrsets;
  }
}

/**
 * The Map key of an owner name: its canonical (lowercased) wire form as a flat string. Cheaper to keep
 * than `Name.key`'s presentation text, and equal exactly when the names are equal.
 */
function nodeKey(name: Name): string {
  return String.fromCharCode.apply(null, name.toCanonicalWire() as unknown as number[]);
}

export class Zone {
  private readonly nodes = new Map<string, ZoneNode>();
  private sortedNames: ZoneNode[] | undefined;
  private count = 0;

  constructor(
    readonly origin: Name,
    readonly rrclass: number = RRClass.IN,
  ) {}

  /**
   * Builds a zone from records: an array, a parser's stream of records (`parseZone`), or its stream of
   * per-chunk batches (`parseZoneBatches`, one await per chunk instead of one per record).
   */
  static async from(
    origin: Name,
    records: AsyncIterable<ZoneRecord | ZoneRecord[]> | Iterable<ZoneRecord>,
    rrclass: number = RRClass.IN,
  ): Promise<Zone> {
    const zone = new Zone(origin, rrclass);
    for await (const item of records) {
      if (Array.isArray(item)) for (const r of item) zone.add(r);
      else zone.add(item);
    }
    return zone;
  }

  /**
   * An independent copy (rdata octets shared, never mutated): apply a series of changesets to the copy and
   * keep it only when all of them applied, so a failed IXFR leaves the original untouched.
   */
  clone(): Zone {
    const copy = new Zone(this.origin, this.rrclass);
    for (const r of this.records()) copy.add(r);
    return copy;
  }

  /** Number of records (RRSIGs included). */
  get recordCount(): number {
    return this.count;
  }

  get nameCount(): number {
    return this.nodes.size;
  }

  private setKey(record: ZoneRecord): { key: number; covered: number | undefined } {
    if (record.type !== RRType.RRSIG) return { key: record.type * 0x10000, covered: undefined };
    const covered = coveredType(record.rdata);
    if (covered === undefined) throw new ZoneError("bad-rdata", `RRSIG at ${record.name} is too short to name a covered type`);
    return { key: RRType.RRSIG * 0x10000 + covered, covered };
  }

  private check(record: ZoneRecord): void {
    if (!record.name.isSubdomainOf(this.origin)) {
      throw new ZoneError("out-of-zone", `${record.name} is not in zone ${this.origin}`);
    }
    if (record.class !== this.rrclass) throw new ZoneError("wrong-class", `${record.name} ${typeToString(record.type)} has class ${record.class}`);
  }

  /** Adds a record; false when the zone already held it. */
  add(record: ZoneRecord): boolean {
    this.check(record);
    const { key, covered } = this.setKey(record);
    let node = this.nodes.get(nodeKey(record.name));
    if (node === undefined) {
      node = new ZoneNode(record.name);
      this.nodes.set(nodeKey(record.name), node);
      this.sortedNames = undefined;
    }
    let set = node.get(key);
    if (set === undefined) {
      set = new RRset(record.name, record.type, record.class, record.ttl, covered);
      node.insert(set);
    }
    const added = set.add(record.rdata, record.ttl);
    if (added) this.count++;
    return added;
  }

  /** Removes a record (matched by owner, type and canonical rdata; TTL ignored); false when absent. */
  delete(record: ZoneRecord): boolean {
    const node = this.nodes.get(nodeKey(record.name));
    if (node === undefined) return false;
    const { key } = this.setKey(record);
    const set = node.get(key);
    if (set === undefined || !set.delete(record.rdata)) return false;
    this.count--;
    if (set.size === 0) node.remove(key);
    if (node.rrsets.length === 0) {
      this.nodes.delete(nodeKey(record.name));
      this.sortedNames = undefined;
    }
    return true;
  }

  /** True when the zone holds this record (TTL ignored). */
  has(record: ZoneRecord): boolean {
    const node = this.nodes.get(nodeKey(record.name));
    if (node === undefined || (record.type === RRType.RRSIG && coveredType(record.rdata) === undefined)) return false;
    return node.get(this.setKey(record).key)?.has(record.rdata) ?? false;
  }

  node(name: Name): ZoneNode | undefined {
    return this.nodes.get(nodeKey(name));
  }

  /** The RRset of `type` at `name` (for RRSIG, give the covered type). */
  rrset(name: Name, type: number, covered?: number): RRset | undefined {
    const key = type === RRType.RRSIG ? RRType.RRSIG * 0x10000 + (covered ?? 0) : type * 0x10000;
    return this.nodes.get(nodeKey(name))?.get(key);
  }

  /** The apex SOA's rdata, or undefined when there is none yet. */
  soa(): Uint8Array | undefined {
    return this.rrset(this.origin, RRType.SOA)?.rdatas()[0];
  }

  /**
   * The serial of the apex SOA.
   * @throws ZoneError "no-soa" when the zone has no SOA.
   */
  serial(): number {
    const soa = this.soa();
    if (soa === undefined) throw new ZoneError("no-soa", `zone ${this.origin} has no SOA`);
    try {
      return codecs.soa.decode(soa).serial;
    } catch (err) {
      if (err instanceof RdataError) throw new ZoneError("bad-rdata", `SOA of ${this.origin}: ${err.message}`);
      throw err;
    }
  }

  /** Owner names in canonical order (RFC 4034 §6.1), sorted once per change of the name set. */
  sortedNodes(): readonly ZoneNode[] {
    if (this.sortedNames === undefined) {
      this.sortedNames = [...this.nodes.values()].sort((a, b) => a.name.compare(b.name));
    }
    return this.sortedNames;
  }

  /** Every record in canonical order. */
  *records(): Generator<ZoneRecord> {
    for (const node of this.sortedNodes()) for (const set of node.sorted()) yield* set.records();
  }

  /** Every RRset in canonical order. */
  *rrsets(): Generator<RRset> {
    for (const node of this.sortedNodes()) yield* node.sorted();
  }
}
