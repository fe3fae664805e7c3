/**
 * @module No daemon outlives its test process: when the process exits normally the exit hook kills the
 * daemon's group, and when it is SIGKILLed (no hook runs) the next sweep finds the orphan by its dir's
 * owner.json and kills it. Each case runs a real child Node process that starts a real knotd.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { groupMembers, sweepStalePeers } from "./daemon.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const alive = (pgid: number) => groupMembers(pgid).filter((m) => m.state !== "Z");

/** A child that starts knotd, reports {pid, dir}, then does `then` ("exit" or "hang"). */
const CHILD = (then: "exit" | "hang") => `
import { startKnotd } from ${JSON.stringify(path.join(here, "knotd.ts"))};
const peer = await startKnotd({ zones: [{ name: "orphan.test", text: "@ 60 IN SOA ns1 h 1 60 60 600 60\\n@ NS ns1\\nns1 A 127.0.0.1\\n" }] });
console.log(JSON.stringify({ pid: peer.pid, dir: peer.dir }));
${then === "exit" ? "process.exit(0);" : "setInterval(() => {}, 1000);"}
`;

function runChild(then: "exit" | "hang"): { child: ChildProcess; started: Promise<{ pid: number; dir: string }> } {
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", CHILD(then)], {
    cwd: path.join(here, "../.."),
    stdio: ["ignore", "pipe", "inherit"],
  });
  const started = new Promise<{ pid: number; dir: string }>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve(JSON.parse(line) as { pid: number; dir: string });
    });
    child.once("exit", (code) => reject(new Error(`child exited ${code} before starting knotd: ${out}`)));
  });
  return { child, started };
}

async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

describe.concurrent("cleanup", () => {
  test("a test process that exits takes its daemon with it", async () => {
    const { child, started } = runChild("exit");
    const { pid } = await started;
    await new Promise((r) => child.once("exit", r));
    expect(await until(() => alive(pid).length === 0)).toBe(true);
  });

  test("a daemon orphaned by a SIGKILLed test process is swept, its dir removed", async () => {
    const { child, started } = runChild("hang");
    const { pid, dir } = await started;
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    // No hook ran: knotd is still up, orphaned.
    expect(alive(pid).length).toBeGreaterThan(0);
    sweepStalePeers({ again: true });
    expect(await until(() => alive(pid).length === 0)).toBe(true);
    expect(existsSync(dir)).toBe(false);
  });
});
