/**
 * @module Editing a zone on the knotd primary the way its operator would: a knotc transaction
 * (`zone-begin`, `zone-set`/`zone-unset`, `zone-commit`). The edits are staged in one knotc session
 * (commands on stdin) and committed by a second one, so a benchmark can start its clock just before the
 * commit: knotd publishes the new serial and sends NOTIFY right after it.
 */
import path from "node:path";
import { runTool } from "../test/peers/run-tool.ts";
import type { PeerHandle } from "../test/peers/types.ts";
import { absolute } from "../test/peers/zone-spec.ts";

/** knotc reading commands from stdin; its replies and errors together. */
async function knotc(peer: PeerHandle, input: string): Promise<string> {
  const r = await runTool("knotc", ["-c", path.join(peer.dir, "knot.conf"), "-t", "30"], { input, timeoutMs: 60_000 });
  return `${r.stdout}${r.stderr}${r.code !== 0 ? `\nerror: knotc exited ${r.code}` : ""}`;
}

/** One edit: add `owner ttl type data`, or remove the whole RRset (`data` undefined) or one record of it. */
export interface KnotEdit {
  op: "set" | "unset";
  owner: string;
  ttl?: number;
  type: string;
  data?: string;
}

/** Opens a transaction on `zone` and stages `edits` (knotc prints one reply per command). */
export async function stageEdits(peer: PeerHandle, zone: string, edits: readonly KnotEdit[]): Promise<void> {
  const z = absolute(zone);
  const lines = [`zone-begin ${z}`];
  for (const e of edits) {
    if (e.op === "set") lines.push(`zone-set ${z} ${e.owner} ${e.ttl ?? 300} ${e.type} ${e.data}`);
    else lines.push(`zone-unset ${z} ${e.owner} ${e.type}${e.data !== undefined ? ` ${e.data}` : ""}`);
  }
  const out = await knotc(peer, `${lines.join("\n")}\n`);
  // In interactive mode knotc exits 0 whatever happened; a failed command prints "error: …".
  if (/error/i.test(out)) {
    await knotc(peer, `zone-abort ${z}\n`).catch(() => undefined);
    throw new Error(`knotc could not stage ${edits.length} edits on ${z}: ${out.split("\n").filter((l) => /error/i.test(l)).slice(0, 3).join("; ")}`);
  }
}

/** Commits the open transaction: knotd bumps the serial, publishes and NOTIFYs its secondaries. */
export async function commitEdits(peer: PeerHandle, zone: string): Promise<void> {
  const out = await knotc(peer, `zone-commit ${absolute(zone)}\n`);
  if (/error/i.test(out)) throw new Error(`knotc zone-commit ${zone}: ${out.trim()}`);
}
