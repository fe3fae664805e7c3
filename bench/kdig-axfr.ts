/**
 * @module One AXFR to real `kdig` over TCP, timed from spawn to kdig's exit (its last byte read, parsed
 * and printed): the client every server of the `xfr-out` benchmark is measured with, so kdig's own cost
 * is the same on each side of a ratio. kdig's output is streamed past and dropped; only its tail is kept,
 * for the closing statistics line (`;; Received 3457010 B (54 messages, 100001 records)`) and any error.
 */
import { spawn } from "node:child_process";
import type { TsigKey } from "../test/peers/types.ts";

export interface AxfrStats {
  bytes: number;
  messages: number;
  records: number;
}

/** kdig's closing statistics of a transfer, or undefined when its output has none (a failed transfer). */
export function parseAxfrStats(tail: string): AxfrStats | undefined {
  const m = /;; Received (\d+) B \((\d+) messages?, (\d+) records?\)/.exec(tail);
  return m ? { bytes: Number(m[1]), messages: Number(m[2]), records: Number(m[3]) } : undefined;
}

/** kdig's `;; ERROR:` lines. */
export function axfrErrors(output: string): string[] {
  return output
    .split("\n")
    .filter((l) => l.startsWith(";; ERROR:"))
    .map((l) => l.slice(";; ERROR:".length).trim());
}

export interface TimedAxfr extends AxfrStats {
  ms: number;
}

/** `kdig AXFR` of `zone` from 127.0.0.1:`port`, signed with `key` when given; throws when it fails. */
export async function timedAxfr(port: number, zone: string, key: TsigKey | undefined, timeoutMs: number): Promise<TimedAxfr> {
  const args = ["@127.0.0.1", "-p", String(port), "+norec", `+time=${Math.max(1, Math.ceil(timeoutMs / 1000))}`];
  if (key) args.push("-y", `${key.algorithm}:${key.name}:${key.secret}`);
  args.push(zone, "AXFR");
  const started = performance.now();
  const child = spawn("kdig", args, { stdio: ["ignore", "pipe", "pipe"] });
  let tail = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (tail = (tail + String(d)).slice(-4096)));
  child.stderr.on("data", (d: Buffer) => (stderr = (stderr + String(d)).slice(-4096)));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs + 5000);
  const code = await new Promise<number | null>((resolve, reject) => child.once("error", reject).once("close", (c) => resolve(c)));
  clearTimeout(timer);
  const ms = performance.now() - started;
  const stats = parseAxfrStats(tail);
  const errors = axfrErrors(`${tail}\n${stderr}`);
  if (code !== 0 || !stats || errors.length) {
    throw new Error(`kdig AXFR ${zone} from port ${port}: exit ${code}${errors.length ? `, ${errors.join("; ")}` : ""}${stats ? "" : ", no closing statistics"}`);
  }
  return { ms, ...stats };
}
