/**
 * @module RFC 2136 DNS UPDATE applied to a primary zone (issue 22): the prerequisite section (§3.2), the
 * prescan of the update section (§3.4.1) and the updates themselves (§3.4.2), as one planner over a
 * `ZoneEdit`. It runs inside `editZone`, under the zone's lease, so the prerequisites are checked against
 * exactly the version the updates apply to and commit over: nothing can change the zone between the two.
 * That is why the service forwards an allowed UPDATE here instead of checking prerequisites itself.
 *
 * Where RFC 2136 says an update is "silently ignored" it is: an SOA addition (the serial policy owns the
 * SOA), deleting the apex SOA or NS RRsets, deleting the last apex NS, a CNAME beside other data or other
 * data beside a CNAME (§3.4.2.2). The answer is NOERROR then, as BIND and Knot answer.
 */
import { RRClass, RRType, Rcode } from "../../../dns/constants.ts";
import { Name, NameError } from "../../../dns/name.ts";
import { canonicalRdata } from "../../../dns/rdata/index.ts";
import { compareBytes } from "../../../dns/bytes.ts";
import type { StoredRecord } from "../../../answer/store/stored-node.ts";
import type { Abort, ZoneEdit } from "./zone-edit.ts";

/** One RR of a section, rdata uncompressed. */
export interface UpdateRR {
  name: string;
  type: number;
  class: number;
  ttl: number;
  rdata: Uint8Array;
}

export interface UpdateAnswer {
  rcode: number;
  reason?: string;
}

/** RFC 2136 §1.3: meta types (and AXFR, IXFR, MAILA, MAILB, ANY) are not record types. */
const isMeta = (type: number): boolean => (type >= 128 && type <= 255) || type === RRType.OPT || type === 0;

const fail = (rcode: number, reason: string): Abort<UpdateAnswer> => ({ abort: { rcode, reason } });

function nameOf(rr: UpdateRR, apex: Name): Name | Abort<UpdateAnswer> {
  let name: Name;
  try {
    name = Name.parseAbsolute(rr.name);
  } catch (err) {
    if (err instanceof NameError) return fail(Rcode.FORMERR, `${rr.name} is not a name`);
    throw err;
  }
  return name.isSubdomainOf(apex) ? name : fail(Rcode.NOTZONE, `${name} is outside the zone ${apex}`);
}

const isAbort = (v: unknown): v is Abort<UpdateAnswer> => typeof v === "object" && v !== null && "abort" in v;

/** Same type and rdata, names in the rdata compared without case (RFC 2136 §1.1.1, RFC 4034 §6.2). */
function sameData(type: number, a: Uint8Array, b: Uint8Array): boolean {
  try {
    return compareBytes(canonicalRdata(type, a), canonicalRdata(type, b)) === 0;
  } catch {
    return compareBytes(a, b) === 0;
  }
}

/** §3.2: the prerequisites, in order; the first that fails answers. */
async function checkPrerequisites(edit: ZoneEdit, prerequisites: readonly UpdateRR[]): Promise<Abort<UpdateAnswer> | undefined> {
  const valueDependent = new Map<string, { name: Name; type: number; rdatas: Uint8Array[] }>();
  for (const rr of prerequisites) {
    if (rr.ttl !== 0) return fail(Rcode.FORMERR, `prerequisite ${rr.name} has TTL ${rr.ttl}, not 0`);
    const name = nameOf(rr, edit.apex);
    if (isAbort(name)) return name;
    const records = await edit.records(name);
    if (rr.class === RRClass.ANY || rr.class === RRClass.NONE) {
      if (rr.rdata.length !== 0) return fail(Rcode.FORMERR, `prerequisite ${name} of class ${rr.class === RRClass.ANY ? "ANY" : "NONE"} carries rdata`);
      const present = rr.type === RRType.ANY ? records.length > 0 : records.some((r) => r.type === rr.type);
      if (rr.class === RRClass.ANY && !present) {
        return rr.type === RRType.ANY ? fail(Rcode.NXDOMAIN, `${name} is not in use`) : fail(Rcode.NXRRSET, `${name} has no RRset of type ${rr.type}`);
      }
      if (rr.class === RRClass.NONE && present) {
        return rr.type === RRType.ANY ? fail(Rcode.YXDOMAIN, `${name} is in use`) : fail(Rcode.YXRRSET, `${name} has an RRset of type ${rr.type}`);
      }
    } else if (rr.class === RRClass.IN) {
      if (isMeta(rr.type)) return fail(Rcode.FORMERR, `prerequisite ${name} of a meta type`);
      const key = `${name.key}/${rr.type}`;
      const set = valueDependent.get(key) ?? { name, type: rr.type, rdatas: [] };
      set.rdatas.push(rr.rdata);
      valueDependent.set(key, set);
    } else {
      return fail(Rcode.FORMERR, `prerequisite ${name} of class ${rr.class}`);
    }
  }
  // "RRset exists (value dependent)": the zone's RRset is exactly the set given, TTLs aside.
  for (const set of valueDependent.values()) {
    const held = (await edit.records(set.name)).filter((r) => r.type === set.type);
    const given = set.rdatas.filter((d, i) => set.rdatas.findIndex((e) => sameData(set.type, d, e)) === i);
    const equal = held.length === given.length && held.every((r) => given.some((d) => sameData(set.type, r.rdata, d)));
    if (!equal) return fail(Rcode.NXRRSET, `${set.name}'s RRset of type ${set.type} is not the one given`);
  }
  return undefined;
}

/** §3.4.1: the update section's prescan; nothing is applied when it fails. */
function prescan(apex: Name, updates: readonly UpdateRR[]): Abort<UpdateAnswer> | Name[] {
  const names: Name[] = [];
  for (const rr of updates) {
    const name = nameOf(rr, apex);
    if (isAbort(name)) return name;
    if (rr.class === RRClass.IN) {
      if (isMeta(rr.type)) return fail(Rcode.FORMERR, `update adds ${name} of a meta type`);
    } else if (rr.class === RRClass.ANY) {
      if (rr.ttl !== 0 || rr.rdata.length !== 0 || (isMeta(rr.type) && rr.type !== RRType.ANY)) {
        return fail(Rcode.FORMERR, `a deletion of ${name} (class ANY) must have TTL 0, no rdata and a type or ANY`);
      }
    } else if (rr.class === RRClass.NONE) {
      if (rr.ttl !== 0 || isMeta(rr.type)) return fail(Rcode.FORMERR, `a deletion of one record at ${name} (class NONE) must have TTL 0 and a record type`);
    } else {
      return fail(Rcode.FORMERR, `update ${name} of class ${rr.class}`);
    }
    names.push(name);
  }
  return names;
}

/** §3.4.2: one update applied to what the edit holds now. */
async function applyOne(edit: ZoneEdit, name: Name, rr: UpdateRR): Promise<void> {
  const apex = edit.apex;
  const isApex = name.equals(apex);
  const records = await edit.records(name);
  const keep = (r: StoredRecord) => r.type === RRType.SOA || (isApex && r.type === RRType.NS);
  if (rr.class === RRClass.IN) {
    if (rr.type === RRType.SOA) return; // the serial policy owns the SOA
    const hasCname = records.some((r) => r.type === RRType.CNAME);
    const hasOther = records.some((r) => r.type !== RRType.CNAME && r.type !== RRType.RRSIG && r.type !== RRType.NSEC);
    if (rr.type === RRType.CNAME && hasOther) return; // §3.4.2.2
    if (rr.type !== RRType.CNAME && hasCname) return;
    const rest = records.filter((r) => r.type !== rr.type || (rr.type !== RRType.CNAME && !sameData(r.type, r.rdata, rr.rdata)));
    // One TTL per RRset (RFC 2181 §5.2): the RRset takes the added record's.
    const set = rest.filter((r) => r.type === rr.type).map((r) => ({ ...r, ttl: rr.ttl }));
    await edit.set(name, [...rest.filter((r) => r.type !== rr.type), ...set, { type: rr.type, class: RRClass.IN, ttl: rr.ttl, rdata: rr.rdata }]);
    return;
  }
  if (rr.class === RRClass.ANY) {
    if (rr.type === RRType.ANY) await edit.set(name, records.filter(keep));
    else if (!(isApex && (rr.type === RRType.SOA || rr.type === RRType.NS))) await edit.set(name, records.filter((r) => r.type !== rr.type));
    return;
  }
  // Class NONE: one record.
  if (rr.type === RRType.SOA) return;
  const left = records.filter((r) => !(r.type === rr.type && sameData(r.type, r.rdata, rr.rdata)));
  if (isApex && rr.type === RRType.NS && !left.some((r) => r.type === RRType.NS)) return; // never the last apex NS
  await edit.set(name, left);
}

/** The planner of one UPDATE message: prerequisites, prescan, updates; an rcode other than NOERROR aborts. */
export function updatePlan(prerequisites: readonly UpdateRR[], updates: readonly UpdateRR[]) {
  return async (edit: ZoneEdit): Promise<UpdateAnswer | Abort<UpdateAnswer>> => {
    if (edit.version === null) return fail(Rcode.SERVFAIL, `${edit.apex} has no data yet`);
    const failed = await checkPrerequisites(edit, prerequisites);
    if (failed) return failed;
    const names = prescan(edit.apex, updates);
    if (isAbort(names)) return names;
    for (let i = 0; i < updates.length; i++) await applyOne(edit, names[i]!, updates[i]!);
    return { rcode: Rcode.NOERROR };
  };
}
