/**
 * @module Cutting a canonical-ordered sequence of nodes into blocks. A block never splits an owner (the
 * lookup finds a node in exactly one block) and stays well under D1's 100 KB statement limit, so a block
 * insert, with its keys and other columns, always fits in one statement.
 */
import { nodeSize } from "./block-codec.ts";
import type { StoredNode } from "../../answer/store/stored-node.ts";
import { BLOCK_MAX_NODES, BLOCK_TARGET_BYTES, NODE_MAX_BYTES } from "../../answer/store/block-cutter.ts";

/** The limits live beside the cutter the transfer-service shares (`answer/store/block-cutter.ts`). */
export { BLOCK_MAX_NODES, BLOCK_TARGET_BYTES, NODE_MAX_BYTES };

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
