/**
 * @module What the kernel says about a process, read from /proc (Linux): resident memory now and at its
 * peak, CPU time spent (utime + stime, proc(5)), and a process's descendants by command name (workerd is
 * a child of the Node process that started Miniflare). Sampling RSS from outside is the only fair way to
 * compare a Node service with named: each figure is what the OS charges the whole process.
 */
import { readFileSync, readdirSync } from "node:fs";

/** One field of /proc/<pid>/status in bytes (`VmRSS`, `VmHWM`), or undefined once the process is gone. */
export function statusBytes(pid: number, field: "VmRSS" | "VmHWM"): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Clock ticks per second for /proc/<pid>/stat times; 100 on every Linux this runs on (USER_HZ). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system) the process has used, in milliseconds. Fields 14 and 15 of /proc/<pid>/stat;
 * the command name (field 2) may hold spaces, so counting starts after its closing parenthesis.
 */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state), so utime (14) is fields[11] and stime (15) fields[12].
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** Pids of `root`'s descendants whose command name (`/proc/<pid>/comm`) is `comm`. */
export function descendantsNamed(root: number, comm: string): number[] {
  const parents = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      names.set(Number(entry), stat.slice(stat.indexOf("(") + 1, close));
      parents.set(Number(entry), Number(stat.slice(close + 2).split(" ")[1]));
    } catch {
      // Gone between readdir and read.
    }
  }
  const out: number[] = [];
  for (const [pid, name] of names) {
    if (name !== comm) continue;
    for (let p = parents.get(pid), hops = 0; p !== undefined && p > 1 && hops < 64; p = parents.get(p), hops++) {
      if (p === root) {
        out.push(pid);
        break;
      }
    }
  }
  return out;
}

/** The largest VmRSS seen every `everyMs` between start and stop(). */
export interface RssSampler {
  stop(): number;
}

export function sampleRss(pid: number, everyMs = 20): RssSampler {
  let peak = statusBytes(pid, "VmRSS") ?? 0;
  const timer = setInterval(() => (peak = Math.max(peak, statusBytes(pid, "VmRSS") ?? 0)), everyMs);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, statusBytes(pid, "VmRSS") ?? 0);
      return peak;
    },
  };
}

export const MiB = 2 ** 20;

/** CPU time each of `pids` spends from now until `stop()`, in ms. */
export function cpuMeter(pids: readonly number[]): { stop(): number[] } {
  const before = pids.map(cpuMs);
  return { stop: () => pids.map((pid, i) => cpuMs(pid) - (before[i] as number)) };
}
