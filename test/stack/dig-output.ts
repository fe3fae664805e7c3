/**
 * @module What a DNS client saw, reduced to what must agree between transports: rcode, AA, and the answer
 * records as normalised presentation lines. From a decoded message, or from `dig`'s text output, so answers
 * over DoH, UDP and TCP can be compared as equals; `digAt` runs dig itself (bounded, no recursion, one try).
 */
import { rcodeToString, typeToString } from "../../dns/constants.ts";
import type { Message } from "../../dns/message.ts";
import { rdataToText } from "../../dns/rdata/index.ts";
import { runTool } from "../peers/run-tool.ts";

export interface Seen {
  rcode: string;
  aa: boolean;
  answers: string[];
}

/** Whitespace collapsed, lower case: dig, kdig and our printer then agree. */
export const norm = (line: string): string => line.trim().split(/\s+/).join(" ").toLowerCase();

export function seenOf(m: Message): Seen {
  return {
    rcode: rcodeToString(m.rcode),
    aa: m.flags.aa,
    answers: m.answers.map((rr) => norm(`${rr.name.toString()} ${rr.ttl} IN ${typeToString(rr.type)} ${rdataToText(rr.type, rr.rdata)}`)),
  };
}

/** dig's header flags (`qr aa tc …`). */
export function digFlags(stdout: string): string[] {
  return /;; flags: ([^;]*);/.exec(stdout)?.[1]?.trim().split(/\s+/) ?? [];
}

/** dig's text output: status, flags, and the answer section. */
export function parseDig(stdout: string): Seen {
  const rcode = /status: (\w+)/.exec(stdout)?.[1] ?? "none";
  const answers: string[] = [];
  let inAnswer = false;
  for (const line of stdout.split("\n")) {
    if (line.startsWith(";; ANSWER SECTION")) inAnswer = true;
    else if (line.trim() === "" || line.startsWith(";")) inAnswer = false;
    else if (inAnswer) answers.push(norm(line));
  }
  return { rcode, aa: digFlags(stdout).includes("aa"), answers };
}

/**
 * Runs `dig @server -p port +norec +time=5 +tries=1 <args> name type`; fails with dig's output unless it
 * exits 0. dig's own retry logic (TC → TCP) still applies.
 */
export async function digAt(opts: { server?: string; port: number; args?: string[]; name: string; type: string }): Promise<{ seen: Seen; stdout: string }> {
  const res = await runTool("dig", [`@${opts.server ?? "127.0.0.1"}`, "-p", String(opts.port), "+norec", "+time=5", "+tries=1", ...(opts.args ?? []), opts.name, opts.type], { timeoutMs: 15_000 });
  if (res.code !== 0) throw new Error(`dig exited ${res.code}: ${res.stdout}${res.stderr}`);
  return { seen: parseDig(res.stdout), stdout: res.stdout };
}
