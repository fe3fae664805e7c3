/**
 * @module Starts and stops the Node dgram floor (`udp-floor-server.ts`) for the UDP bench: one process, or a
 * cluster of N like the multi-process front. Its pids (the primary and, for N ≥ 2, its workers) are what the
 * bench charges CPU to, as it charges the front's owner and query processes.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { descendantsNamed } from "./proc.ts";

export interface UdpFloor {
  port: number;
  /** The server's processes: its primary, and its cluster workers when there are any. */
  pids(): number[];
  stop(): Promise<void>;
}

const SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), "udp-floor-server.ts");

/** Starts the floor with `processes` reading processes; resolves once every one is bound (at most 30 s). */
export async function startUdpFloor(processes: number): Promise<UdpFloor> {
  const child = spawn(process.execPath, ["--import", "tsx", SERVER, String(processes)], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exited = once(child, "exit");
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  try {
    const lines = createInterface({ input: child.stdout! });
    const first = new Promise<string>((resolve, reject) => {
      lines.once("line", resolve);
      child.once("exit", (code) => reject(new Error(`the UDP floor exited (${code}) before it was bound: ${stderr.trim()}`)));
    });
    let timer: NodeJS.Timeout | undefined;
    const line = await Promise.race([first, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("the UDP floor was not bound within 30 s")), 30_000)))]).finally(() => clearTimeout(timer));
    const { port } = JSON.parse(line) as { port: number };
    const pid = child.pid!;
    return { port, pids: () => [pid, ...descendantsNamed(pid, "node")], stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
