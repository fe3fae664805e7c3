/**
 * @module A daemon run in the foreground for a test: spawned as the leader of its own process group (nsd
 * and pdns_server fork helpers that must die with it), its output kept as a bounded tail for error
 * messages, and its exit awaited.
 *
 * Nothing is left behind when a test fails:
 * - every live daemon is killed (whole group, SIGKILL) when this Node process exits, however it exits;
 * - each peer dir holds `owner.json` ({owner pid, daemon pid, command line}); the next start in any
 *   process sweeps dirs whose owner is gone (a worker killed with SIGKILL runs no exit hook), killing
 *   the daemon only when its /proc cmdline still names that dir, so a reused pid is never hit.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

const TAIL_BYTES = 32 * 1024;
const DIR_PREFIX = "backstop-peer-";
const live = new Set<Daemon>();
let hooked = false;
let swept = false;

export interface DaemonSpec {
  /** Label in messages: "knotd", "named"… */
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
}

export interface Daemon {
  readonly pid: number;
  readonly exited: Promise<number | null>;
  readonly running: boolean;
  /** Signal the whole process group. Ignored once the daemon has exited. */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM the group, wait up to `graceMs`, then SIGKILL and wait. */
  stop(graceMs?: number): Promise<void>;
  /** The last output lines (stdout and stderr interleaved). */
  output(): string;
}

/** A fresh temp dir for one peer, recorded for the stale-peer sweep. */
export async function makePeerDir(kind: string): Promise<string> {
  sweepStalePeers();
  return mkdtemp(path.join(tmpdir(), `${DIR_PREFIX}${kind}-`));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/** Kill daemons whose test process died without cleaning up (see module doc). Runs once per process unless `again`. */
export function sweepStalePeers(opts: { again?: boolean } = {}): void {
  if (swept && !opts.again) return;
  swept = true;
  let entries: string[];
  try {
    entries = readdirSync(tmpdir()).filter((e) => e.startsWith(DIR_PREFIX));
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = path.join(tmpdir(), entry);
    let owner: { ownerPid: number; daemonPid: number };
    try {
      owner = JSON.parse(readFileSync(path.join(dir, "owner.json"), "utf8")) as typeof owner;
    } catch {
      continue; // being created right now, or not ours
    }
    if (alive(owner.ownerPid)) continue;
    try {
      const cmdline = readFileSync(`/proc/${owner.daemonPid}/cmdline`, "utf8");
      if (cmdline.includes(dir)) killGroup(owner.daemonPid, "SIGKILL");
    } catch {
      // no such process
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  // 'exit' handlers must be synchronous: process.kill is.
  process.on("exit", () => {
    for (const d of live) d.kill("SIGKILL");
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      for (const d of live) d.kill("SIGKILL");
      process.kill(process.pid, signal);
    });
  }
}

/** Resolves once no process is left in group `pgid` (bounded: 5 s; zombies of a slow reaper count as gone). */
async function groupGone(pgid: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (pgid > 0 && Date.now() < deadline) {
    if (!groupMembers(pgid).some((m) => m.state !== "Z")) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Processes whose process group is `pgid`, from /proc (Linux). */
export function groupMembers(pgid: number): Array<{ pid: number; state: string }> {
  const members: Array<{ pid: number; state: string }> = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/PID/stat: "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid) members.push({ pid: Number(entry), state: fields[0] as string });
    } catch {
      // exited while we looked
    }
  }
  return members;
}

/** Start `spec` in the foreground as its own process group. Resolves once spawned (not once ready). */
export function startDaemon(spec: DaemonSpec): Daemon {
  hookExit();
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let tail = "";
  const append = (chunk: Buffer) => {
    tail += chunk.toString("utf8");
    if (tail.length > TAIL_BYTES) tail = tail.slice(tail.length - TAIL_BYTES);
  };
  child.stdout.on("data", append);
  child.stderr.on("data", append);
  let running = true;
  const exited = new Promise<number | null>((resolve) => {
    child.once("error", (err) => {
      append(Buffer.from(`\n[${spec.name} failed to spawn: ${err.message}]\n`));
      running = false;
      live.delete(daemon);
      resolve(null);
    });
    child.once("exit", (code) => {
      // The leader is gone; its forked helpers (nsd's xfrd and servers) must not outlive it, and must be
      // gone before "exited" resolves: a restart on the same port would otherwise race them.
      if (pid > 0) killGroup(pid, "SIGKILL");
      void groupGone(pid).then(() => {
        running = false;
        live.delete(daemon);
        resolve(code);
      });
    });
  });
  const pid = child.pid ?? -1;
  const daemon: Daemon = {
    pid,
    exited,
    get running() {
      return running;
    },
    kill(signal = "SIGKILL") {
      if (running && pid > 0) killGroup(pid, signal);
    },
    async stop(graceMs = 5000) {
      if (!running) return;
      daemon.kill("SIGTERM");
      const timer = setTimeout(() => daemon.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
    output: () => tail,
  };
  if (pid > 0) {
    live.add(daemon);
    writeFileSync(
      path.join(spec.cwd, "owner.json"),
      JSON.stringify({ ownerPid: process.pid, daemonPid: pid, command: [spec.command, ...spec.args] }),
    );
  }
  return daemon;
}

/** The last `lines` lines of `text`, for error messages. */
export function lastLines(text: string, lines = 30): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
