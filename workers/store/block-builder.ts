/**
 * @module Cutting a canonical-ordered sequence of nodes into blocks. A block never splits an owner (the
 * lookup finds a node in exactly one block) and stays well under D1's 100 KB statement limit, so a block
 * insert, with its keys and other columns, always fits in one statement.
 */
import { nodeSize } from "./block-codec.ts";
import type { StoredNode } from "../../answer/store/stored-node.ts";

/**
 * Target size of a block: small enough that a cache miss moves little and that an IXFR, which rewrites
 * every block it touches, writes about what changed (a 1,000-record change spread over a 1M-record zone
 * touches ~1,000 blocks: 4 MB at 4 KiB, the whole zone at the former 32 KiB); big enough to keep rows few
 * (~10k per 1M records, written ~14 to a statement: `block-table.ts` `insertBlocksStatements`).
 */
export const BLOCK_TARGET_BYTES = 4 * 1024;
/** Bounds the cost of decoding a block on a cache miss (a Name and a sort key per node). */
export const BLOCK_MAX_NODES = 256;
/**
 * Largest single owner accepted (a block of one node may exceed the target). Leaves room for the SQL
 * text, two keys of up to ~260 bytes and the numeric columns within 100 KB.
 */
export const NODE_MAX_BYTES = 96 * 1024;

export class OversizedNodeError extends Error {
  override readonly name = "OversizedNodeError";
}

/** Accumulates nodes in order and hands back full blocks. */
export class BlockBuilder {
  private nodes: StoredNode[] = [];
  private bytes = 3;

  constructor(
    private readonly targetBytes = BLOCK_TARGET_BYTES,
    private readonly maxNodes = BLOCK_MAX_NODES,
  ) {}

  /** Adds the next node; returns the block it completed, if any. */
  push(node: StoredNode): StoredNode[] | undefined {
    const size = nodeSize(node);
    if (size > NODE_MAX_BYTES) {
      throw new OversizedNodeError(`owner ${node.name} holds ${size} bytes of records, more than ${NODE_MAX_BYTES}`);
    }
    let done: StoredNode[] | undefined;
    if (this.nodes.length > 0 && (this.bytes + size > this.targetBytes || this.nodes.length >= this.maxNodes)) {
      done = this.nodes;
      this.nodes = [];
      this.bytes = 3;
    }
    this.nodes.push(node);
    this.bytes += size;
    return done;
  }

  /** The last, partial block (undefined when empty). */
  finish(): StoredNode[] | undefined {
    if (this.nodes.length === 0) return undefined;
    const done = this.nodes;
    this.nodes = [];
    this.bytes = 3;
    return done;
  }
}

/** Splits a whole sequence at once. */
export function splitIntoBlocks(nodes: readonly StoredNode[]): StoredNode[][] {
  const builder = new BlockBuilder();
  const out: StoredNode[][] = [];
  for (const node of nodes) {
    const block = builder.push(node);
    if (block) out.push(block);
  }
  const last = builder.finish();
  if (last) out.push(last);
  return out;
}
