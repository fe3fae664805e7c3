/**
 * @module Asking a secondary whether it answers a record yet: over DoH (Backstop's Worker, RFC 8484 GET)
 * or over UDP (named, knotd, the port-53 front), and polling until it does with a bounded backoff.
 *
 * The poll starts every 10 ms and stretches to 1% of the time already waited (at most `maxDelayMs`), so
 * a figure of seconds is read to about 1% and a figure of milliseconds to 10 ms, without hammering a
 * server that is busy ingesting a million records.
 */
import { typeToString } from "../dns/constants.ts";
import { decodeMessage } from "../dns/message.ts";
import { rdataToText } from "../dns/rdata/index.ts";
import { udpExchange } from "../test/tsig/wire-client.ts";
import { queryWire } from "../answer/testing/table.ts";

/** Presentation rdata of the answer records of type `type` (CNAME chains and others left out). */
function answersOf(wire: Uint8Array, type: number): string[] {
  return decodeMessage(wire)
    .answers.filter((rr) => rr.type === type)
    .map((rr) => rdataToText(rr.type, rr.rdata));
}

/** One DoH GET to `base/dns-query`; a non-200 reply counts as no answer. */
export async function dohAnswers(base: string, name: string, type: number, timeoutMs = 5000): Promise<string[]> {
  const wire = queryWire(name, typeToString(type), { id: 0 });
  const res = await fetch(`${base}/dns-query?dns=${Buffer.from(wire).toString("base64url")}`, {
    headers: { accept: "application/dns-message" },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = new Uint8Array(await res.arrayBuffer());
  return res.ok ? answersOf(body, type) : [];
}

/** One UDP query to 127.0.0.1:`port`. */
export async function udpAnswers(port: number, name: string, type: number, timeoutMs = 2000): Promise<string[]> {
  const id = Math.floor(Math.random() * 0x10000);
  return answersOf(await udpExchange(port, queryWire(name, typeToString(type), { id }), timeoutMs), type);
}

export interface PollOptions {
  /** `performance.now()` of the event the wait is measured from. */
  since: number;
  timeoutMs: number;
  /** Longest pause between two asks. Default 250 ms. */
  maxDelayMs?: number;
  what: string;
  /** Checked after every ask: a reason to give up now (e.g. the transfer failed for good), or undefined. */
  giveUp?: () => string | undefined;
}

/**
 * Asks until `ask()` returns `expected` among its answers; resolves with the milliseconds from `since` to
 * the first answer that holds it. A failed ask (timeout, server busy) is just a "not yet". Throws after
 * `timeoutMs`. The time taken is when that answer arrived, so a figure errs long by one round trip,
 * for every secondary alike.
 */
export async function untilAnswered(ask: () => Promise<string[]>, expected: string, options: PollOptions): Promise<number> {
  const deadline = options.since + options.timeoutMs;
  const maxDelay = options.maxDelayMs ?? 250;
  let last: string;
  for (;;) {
    try {
      const answers = await ask();
      if (answers.includes(expected)) return performance.now() - options.since;
      last = JSON.stringify(answers);
    } catch (err) {
      last = (err as Error).message;
    }
    const reason = options.giveUp?.();
    if (reason !== undefined) throw new Error(`${options.what}: ${reason}`);
    const now = performance.now();
    if (now >= deadline) throw new Error(`${options.what}: not answered within ${options.timeoutMs} ms (last: ${last})`);
    const delay = Math.min(maxDelay, Math.max(10, (now - options.since) / 100));
    await new Promise((r) => setTimeout(r, Math.min(delay, deadline - now)));
  }
}
