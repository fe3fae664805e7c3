/**
 * @module A catalog zone read as RFC 9432 (DNS Catalog Zones, schema version "2") defines it, for a consumer:
 * the member zones with their unique-id labels, and their group and change-of-ownership (coo) properties.
 * Pure: records in, members or a reason out. The Worker reconciles the zones it hosts with the result
 * (`workers/store/catalog.ts`).
 *
 * What is read (RFC 9432 §4):
 * - `version.<catalog>` TXT "2" (§4.2.1): exactly one; anything else makes the whole catalog broken, and a
 *   consumer must not act on it (§5: "MUST NOT ... process the catalog zone" when the version is not one it
 *   knows).
 * - `<unique-id>.zones.<catalog>` PTR <member> (§4.1): one PTR per unique-id label, else that member is
 *   ignored; a member named by two unique ids is ignored under both (§4.1: "a member zone MUST NOT be
 *   listed more than once").
 * - `group.<unique-id>.zones.<catalog>` TXT (§4.4.2): the member's group, the first character-string of the
 *   one TXT; more than one TXT: no group (and said).
 * - `coo.<unique-id>.zones.<catalog>` PTR <new catalog> (§4.4.1): the catalog that may take the member over.
 * Other names and properties (custom `ext` ones among them) are ignored, as §4.4.3 allows.
 */
import { RRType } from "./constants.ts";
import { Name } from "./name.ts";
import { decodeRdata } from "./rdata/index.ts";

/** What a consumer needs of one node: its owner and its records' types and rdata. */
export interface CatalogNode {
  name: Name;
  records: ReadonlyArray<{ type: number; rdata: Uint8Array }>;
}

export interface CatalogMember {
  /** The member zone, lowercased. */
  zone: Name;
  /** The unique-id label (as presentation text, lowercased). */
  id: string;
  group: string | null;
  /** The catalog offered to take the member over, lowercased; null: none. */
  coo: Name | null;
}

export type CatalogContent =
  | { ok: true; members: CatalogMember[]; problems: string[] }
  | { ok: false; error: string };

const textDecoder = new TextDecoder();

/** Reads the catalog zone `catalog` from its nodes (any order). */
export function readCatalog(catalog: Name, nodes: Iterable<CatalogNode>): CatalogContent {
  const zonesName = catalog.child("zones");
  const versionName = catalog.child("version");
  const problems: string[] = [];
  let versions: Uint8Array[] = [];
  const ptrs = new Map<string, Name[]>();
  const groups = new Map<string, string[]>();
  const coos = new Map<string, Name[]>();

  for (const node of nodes) {
    try {
      readNode(node);
    } catch (err) {
      // An rdata that does not decode as its type: that name counts as absent.
      problems.push(`${node.name}: ${(err as Error).message}`);
    }
  }

  function readNode(node: CatalogNode): void {
    if (node.name.equals(versionName)) {
      versions = node.records.filter((r) => r.type === RRType.TXT).map((r) => r.rdata);
      return;
    }
    const below = node.name.relativeTo(zonesName);
    if (!below || below.length === 0 || below.length > 2) return;
    const id = Name.fromLabels([below[below.length - 1]!]).lower().toString().replace(/\.$/, "");
    if (below.length === 1) {
      const targets = node.records.filter((r) => r.type === RRType.PTR).map((r) => ptrTarget(r.rdata));
      if (targets.length > 0) ptrs.set(id, targets);
      return;
    }
    const property = textDecoder.decode(below[0]!).toLowerCase();
    if (property === "group") {
      groups.set(id, node.records.filter((r) => r.type === RRType.TXT).map((r) => firstString(r.rdata)));
    } else if (property === "coo") {
      coos.set(id, node.records.filter((r) => r.type === RRType.PTR).map((r) => ptrTarget(r.rdata)));
    }
  }

  if (versions.length !== 1) {
    return { ok: false, error: versions.length === 0 ? `no version property (version.${catalog} TXT "2")` : `${versions.length} version properties; exactly one is allowed` };
  }
  const version = firstString(versions[0]!);
  if (version !== "2") return { ok: false, error: `version property "${version}" is not "2", the only schema version this consumer knows (RFC 9432)` };

  // A member named under two unique ids is ignored under both.
  const byZone = new Map<string, string[]>();
  for (const [id, targets] of ptrs) {
    if (targets.length !== 1) {
      problems.push(`${id}.zones: ${targets.length} PTR records; a member needs exactly one`);
      continue;
    }
    const key = targets[0]!.key;
    byZone.set(key, [...(byZone.get(key) ?? []), id]);
  }
  const members: CatalogMember[] = [];
  for (const [id, targets] of ptrs) {
    if (targets.length !== 1) continue;
    const zone = targets[0]!.lower();
    const ids = byZone.get(zone.key)!;
    if (ids.length > 1) {
      if (ids[0] === id) problems.push(`${zone}: listed under ${ids.length} unique ids (${ids.join(", ")}); ignored`);
      continue;
    }
    const groupValues = groups.get(id) ?? [];
    if (groupValues.length > 1) problems.push(`${zone}: ${groupValues.length} group properties; none applied`);
    const cooValues = coos.get(id) ?? [];
    if (cooValues.length > 1) problems.push(`${zone}: ${cooValues.length} coo properties; none applied`);
    members.push({
      zone,
      id,
      group: groupValues.length === 1 ? groupValues[0]! : null,
      coo: cooValues.length === 1 ? cooValues[0]!.lower() : null,
    });
  }
  return { ok: true, members, problems };
}

function ptrTarget(rdata: Uint8Array): Name {
  return (decodeRdata(RRType.PTR, rdata) as { target: Name }).target;
}

function firstString(rdata: Uint8Array): string {
  const strings = (decodeRdata(RRType.TXT, rdata) as { strings: Uint8Array[] }).strings;
  return strings.length > 0 ? textDecoder.decode(strings[0]) : "";
}
