/**
 * @module The changed nodes the transfer-service sends with an IXFR's changesets (issue 28, session 10:
 * `answer/store/changed-nodes.ts`, computed from its port-53 replica of the base version), checked before the
 * Worker stores them as the new version's overlay rows without reading a block (`changeset-apply.ts`).
 *
 * What is checked is what costs no read: the framing; every owner inside the zone; the owners sorted by
 * (tree, key) and each once, each record in its owner's tree and in node order; the owners exactly those the
 * changesets touch; every node consistent with the changesets (each record's last addition present with its
 * TTL, each deletion absent unless added again later); the apex SOA's serial the last changeset's; the record
 * count's change within what the changesets allow; a node's size (as a block apply would: `too-large`). What
 * cannot be checked without the base version (a record the changesets do not name) is the service's word,
 * which the base version's identity (zone id, version, serial) vouches for.
 *
 * A failed check is `bad-nodes` (400) naming it; nothing is stored, and the service sends the changesets
 * alone.
 */
import { RRType } from "../../dns/constants.ts";
import { compareBytes } from "../../dns/bytes.ts";
import { ChangedNodesError, decodeChangedNodes, nodeExpiry } from "../../answer/store/changed-nodes.ts";
import type { ChangedNode } from "../../answer/store/changed-nodes.ts";
import { compareRecords, sameRecord, treeOf, TREE_MAIN } from "../../answer/store/stored-node.ts";
import type { StoredRecord, Tree } from "../../answer/store/stored-node.ts";
import { NODE_MAX_BYTES } from "./block-builder.ts";
import { nodeSize } from "./block-codec.ts";
import type { ZoneRef } from "./full-ingest.ts";
import type { OverlayChange } from "./overlay-table.ts";
import type { OwnedRecord } from "./record-stream.ts";
import { readSoa } from "./soa.ts";
import { StoreError } from "./store-error.ts";

/** The changed nodes of a request, as the route hands them on (`contract/internal-v1.ts` `ChangedNodesBase`). */
export interface NodesInput {
  zoneId: number;
  version: number;
  serial: number;
  recordDelta: number;
  replacedExpiry: number | null;
  earliestAfter?: number | null | undefined;
  /** The `changed-nodes.ts` framing. */
  nodes: Uint8Array;
}

/** The nodes once checked: the owners to write, their octets, and the figures the commit needs. */
export interface CheckedNodes {
  /** The changed owners (the unchanged ones left out), sorted by tree then key. */
  changes: OverlayChange[];
  bytes: number;
  /** Owners the changesets touch (changed or not). */
  touched: number;
  /** The earliest RRSIG expiration among the changed nodes as they are now, or null. */
  newExpiry: number | null;
  serial: number;
}

function bad(message: string): StoreError {
  return new StoreError("bad-nodes", `the changed nodes do not fit the changesets: ${message}`);
}

/** A record's identity in a node (type, class, rdata), as a string for a Map. */
function recordId(r: StoredRecord): string {
  let s = `${r.type}:${r.class}:`;
  for (let i = 0; i < r.rdata.length; i++) s += String.fromCharCode(r.rdata[i]!);
  return s;
}

/** What the changesets say of one owner's records: each named record's last word (present with a TTL, or absent). */
type Expected = Map<string, { record: OwnedRecord; present: boolean }>;

/**
 * The checks of the module comment, on `input.nodes` against the parsed changesets.
 * @throws StoreError `bad-nodes` naming the first check that fails; `too-large` for an owner over NODE_MAX_BYTES.
 */
export function checkNodes(zone: ZoneRef, changesets: readonly { fromSerial: number; toSerial: number }[], parsed: readonly { deletions: OwnedRecord[]; additions: OwnedRecord[] }[], input: NodesInput): CheckedNodes {
  let nodes: ChangedNode[];
  try {
    nodes = decodeChangedNodes(input.nodes);
  } catch (err) {
    if (err instanceof ChangedNodesError) throw bad(err.message);
    throw err;
  }
  // Each touched owner's expected records, in changeset order (deletions, then additions, per changeset).
  const expected = new Map<string, Expected>();
  let deletions = 0, additions = 0;
  for (const p of parsed) {
    for (const [list, present] of [[p.deletions, false], [p.additions, true]] as const) {
      for (const r of list) {
        const id = `${treeOf(r.type, r.rdata)}:${r.name.key}`;
        let owner = expected.get(id);
        if (owner === undefined) expected.set(id, (owner = new Map()));
        owner.set(recordId(r), { record: r, present });
        if (present) additions++;
        else deletions++;
      }
    }
  }
  if (input.recordDelta < -deletions || input.recordDelta > additions - deletions) {
    throw bad(`a record count change of ${input.recordDelta}, outside what ${deletions} deletions and ${additions} additions allow`);
  }
  const changes: OverlayChange[] = [];
  let bytes = 0;
  let newExpiry: number | null = null;
  let apexSoas: StoredRecord[] | undefined;
  const apexKey = zone.name.sortKey();
  let prev: { tree: Tree; key: Uint8Array } | undefined;
  for (const n of nodes) {
    const { node, tree } = n;
    const name = node.name;
    if (!name.isSubdomainOf(zone.name)) throw bad(`owner ${name} is outside ${zone.name}`);
    if (prev && (tree < prev.tree || (tree === prev.tree && compareBytes(node.key, prev.key) <= 0))) throw bad(`owner ${name} is out of order or repeated`);
    prev = { tree, key: node.key };
    for (let i = 0; i < node.records.length; i++) {
      const r = node.records[i]!;
      if (treeOf(r.type, r.rdata) !== tree) throw bad(`owner ${name} holds a type ${r.type} record in the other tree`);
      if (i > 0 && compareRecords(node.records[i - 1]!, r) >= 0) throw bad(`the records of ${name} are out of order or repeated`);
    }
    const id = `${tree}:${name.key}`;
    const want = expected.get(id);
    if (want === undefined) throw bad(`owner ${name} is not one the changesets touch`);
    expected.delete(id);
    for (const { record, present } of want.values()) {
      const has = node.records.find((x) => sameRecord(x, record));
      if (present && (has === undefined || has.ttl !== record.ttl)) throw bad(`${name} lacks the added type ${record.type} record${has ? ` with TTL ${record.ttl}` : ""}`);
      if (!present && has !== undefined) throw bad(`${name} still holds the deleted type ${record.type} record`);
    }
    if (tree === TREE_MAIN && compareBytes(node.key, apexKey) === 0) apexSoas = node.records.filter((r) => r.type === RRType.SOA);
    if (n.unchanged) continue;
    const size = nodeSize(node);
    if (size > NODE_MAX_BYTES) throw new StoreError("too-large", `owner ${name} holds ${size} bytes of records, more than ${NODE_MAX_BYTES}`);
    bytes += size;
    const at = nodeExpiry(node);
    if (at !== null && (newExpiry === null || at < newExpiry)) newExpiry = at;
    changes.push({ tree, node });
  }
  if (expected.size > 0) {
    const [id, first] = expected.entries().next().value!;
    void id;
    throw bad(`${expected.size} owner(s) the changesets touch are missing, ${first.values().next().value!.record.name} first`);
  }
  const lastSerial = changesets[changesets.length - 1]!.toSerial;
  if (apexSoas?.length !== 1) throw bad(`the apex holds ${apexSoas?.length ?? 0} SOA records, not one`);
  let serial: number;
  try {
    serial = readSoa(apexSoas[0]!.rdata).serial;
  } catch {
    throw bad("the apex's SOA does not parse");
  }
  if (serial !== lastSerial) throw bad(`the apex's SOA has serial ${serial}, the changesets end at ${lastSerial}`);
  return { changes, bytes, touched: nodes.length, newExpiry, serial };
}
