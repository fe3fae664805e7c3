/**
 * @module Real `kdig` (Knot's dig) against a peer: what an independent client sees, so a harness bug and
 * a peer bug cannot cancel out. Output is parsed only as far as tests need: the records, one
 * whitespace-normalised presentation line each, and the error kdig reported.
 */
import { runTool } from "./run-tool.ts";
import type { TsigKey } from "./types.ts";

export interface KdigOptions {
  address?: string;
  port: number;
  zone: string;
  /** Query type: "SOA", "AXFR", "IXFR=<serial>", … */
  type: string;
  /** kdig waits this long for each reply (+time, whole seconds; UDP is tried 3 times); default 60 s. */
  timeoutMs?: number;
  /** Sign the query with this key (`-y alg:name:secret`). */
  key?: TsigKey;
  /** Extra kdig arguments, e.g. "+tcp". */
  extra?: string[];
}

export interface KdigRecord {
  owner: string;
  ttl: number;
  type: string;
  data: string;
}

export interface KdigResult {
  /** kdig's exit code: 0 when it got a usable answer. */
  code: number;
  /** Header flags of the (first) reply, e.g. ["qr", "aa"]. */
  flags: string[];
  /** RCODE of the (first) reply, when kdig printed a header (not for AXFR). */
  status?: string;
  /** Answer records (TSIG records left out), in order; for AXFR/IXFR, every record of the transfer. */
  records: KdigRecord[];
  authority: KdigRecord[];
  additional: KdigRecord[];
  /** kdig's ";; ERROR:" lines, e.g. "server replied with error 'NOTAUTH'". */
  errors: string[];
  stdout: string;
  stderr: string;
}

/** `owner ttl type data`, one space apart: comparable with a generator's {@link KdigRecord} lines. */
export function recordLine(r: KdigRecord): string {
  return `${r.owner} ${r.ttl} ${r.type} ${r.data}`;
}

/** Run kdig once. */
export async function kdig(opts: KdigOptions): Promise<KdigResult> {
  const args = [`@${opts.address ?? "127.0.0.1"}`, "-p", String(opts.port), "+norec", "+nocrypto"];
  // kdig's own wait per reply is 5 s by default; a primary may think longer than that before the first
  // message of a big transfer (pdns reads a 1M-record zone out of SQLite first).
  args.push(`+time=${Math.max(1, Math.ceil((opts.timeoutMs ?? 60_000) / 1000))}`);
  if (opts.key) args.push("-y", `${opts.key.algorithm}:${opts.key.name}:${opts.key.secret}`);
  args.push(...(opts.extra ?? []), opts.zone, opts.type);
  // The process limit leaves kdig room to hit its own +time (3 UDP tries) and report it in its own words.
  const res = await runTool("kdig", args, { timeoutMs: 3 * (opts.timeoutMs ?? 60_000) + 2000 });
  const records: KdigRecord[] = [];
  const authority: KdigRecord[] = [];
  const additional: KdigRecord[] = [];
  let section = records;
  let flags: string[] = [];
  let status: string | undefined;
  for (const line of res.stdout.split("\n")) {
    const header = /status: (\w+)/.exec(line);
    if (header && status === undefined) status = header[1];
    const f = /^;; Flags: ([^;]*);/.exec(line);
    if (f && flags.length === 0) flags = (f[1] as string).trim().split(/\s+/);
    if (line.startsWith(";; AUTHORITY SECTION")) section = authority;
    if (line.startsWith(";; ADDITIONAL SECTION")) section = additional;
    if (line === "" || line.startsWith(";")) continue;
    const [owner, ttl, cls, type, ...data] = line.trim().split(/\s+/);
    if (!owner || !type || cls === undefined || type === "TSIG") continue;
    section.push({ owner: owner.toLowerCase(), ttl: Number(ttl), type, data: data.join(" ") });
  }
  const errors = `${res.stdout}\n${res.stderr}`
    .split("\n")
    .filter((l) => l.startsWith(";; ERROR:"))
    .map((l) => l.replace(/^;; ERROR:\s*/, ""));
  return { code: res.code, flags, status, records, authority, additional, errors, stdout: res.stdout, stderr: res.stderr };
}
