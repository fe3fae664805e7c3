/**
 * @module Rejected NOTIFYs are logged at most once per source per window, with a count of what was held
 * back (issue 20: a flood of refused NOTIFYs filled the log, one line each). The receiver is called
 * directly with a source address in its context, so no packet leaves the process; the clock is fake.
 */
import { Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Opcode, Rcode, RRType } from "../../dns/constants.ts";
import { decodeHeader, noFlags } from "../../dns/header.ts";
import { encodeMessage, decodeMessage, type Message } from "../../dns/message.ts";
import { Name } from "../../dns/name.ts";
import { createLogger } from "../ops/log.ts";
import { Metrics } from "../ops/metrics.ts";
import { buildNotifyAcl } from "../zones/notify-acl.ts";
import type { NotifyZone } from "../zones/zone.ts";
import { createNotifyReceiver, RejectionLog } from "./notify-in.ts";

function capture(): { log: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim() !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ level: "info", destination }), lines };
}

function notify(qname: string, id: number): Message {
  return {
    id,
    opcode: Opcode.NOTIFY,
    flags: noFlags(),
    rcode: 0,
    questions: [{ name: Name.parse(qname), type: RRType.SOA, class: 1 }],
    answers: [],
    authorities: [],
    additionals: [],
  };
}

/** Lets pino's stream write what it was given. */
const drain = () => new Promise((r) => setImmediate(r));

afterEach(() => {
  vi.useRealTimers();
});

describe("refused NOTIFYs are logged once per source per window", () => {
  it("a flood from one source: one line, then one line with the count; another source has its own line; every one is still counted", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "setTimeout", "clearTimeout", "Date"] });
    const { log, lines } = capture();
    const rejections = new RejectionLog({ log, windowMs: 10_000, now: () => Date.now() });
    const closed: NotifyZone = { acl: buildNotifyAcl([{ address: "192.0.2.1" }], []), keys: [], notified: () => undefined };
    const metrics = new Metrics({ defaultMetrics: false });
    const receive = createNotifyReceiver({ zones: { find: (n) => (n.key === Name.parse("closed.test").key ? closed : undefined) }, log, metrics, rejections });
    const send = async (source: string, qname: string, id: number) => {
      const m = notify(qname, id);
      const wire = encodeMessage(m).wire;
      return decodeHeader(await receive(decodeMessage(wire), wire, { transport: "udp", remoteAddress: source, remotePort: 5300 }));
    };

    for (let i = 0; i < 500; i++) expect((await send("198.51.100.7", "closed.test", i)).rcode).toBe(Rcode.REFUSED);
    // Another source, and another kind of rejection from the first: the first source's window holds it.
    expect((await send("198.51.100.8", "closed.test", 1)).rcode).toBe(Rcode.REFUSED);
    expect((await send("198.51.100.7", "unknown.test", 2)).rcode).toBe(Rcode.NOTAUTH);
    await drain();
    const refusedLines = () => lines.filter((l) => l.msg === "NOTIFY refused");
    expect(refusedLines().map((l) => l.source)).toEqual(["198.51.100.7", "198.51.100.8"]);
    expect(lines.filter((l) => typeof l.suppressed === "number")).toEqual([]);

    // The window ends: the sweep logs what it held back, once.
    await vi.advanceTimersByTimeAsync(10_000);
    await drain();
    const suppressed = lines.filter((l) => typeof l.suppressed === "number");
    expect(suppressed).toHaveLength(1);
    expect(suppressed[0]).toMatchObject({ source: "198.51.100.7", suppressed: 500, msg: "500 more rejected NOTIFYs from 198.51.100.7 suppressed" });

    // A new window: the next rejection is logged in full again.
    expect((await send("198.51.100.7", "closed.test", 3)).rcode).toBe(Rcode.REFUSED);
    await drain();
    expect(refusedLines()).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(30_000);
    await drain();
    expect(lines.filter((l) => typeof l.suppressed === "number")).toHaveLength(1);

    const text = await metrics.registry.getSingleMetricAsString("backstop_notify_total");
    expect(text).toMatch(/result="refused"} 502/);
    expect(text).toMatch(/result="notzone"} 1/);
    rejections.stop();
  });

  it("a source pushed out of the full table has its count logged then", async () => {
    const { log, lines } = capture();
    let now = 0;
    const rejections = new RejectionLog({ log, windowMs: 10_000, maxSources: 2, now: () => now });
    for (let i = 0; i < 4; i++) rejections.rejected("203.0.113.1", "warn", {}, "NOTIFY refused");
    now += 1;
    rejections.rejected("203.0.113.2", "warn", {}, "NOTIFY refused");
    rejections.rejected("203.0.113.3", "warn", {}, "NOTIFY refused");
    await drain();
    expect(lines.map((l) => l.msg)).toEqual([
      "NOTIFY refused",
      "NOTIFY refused",
      "3 more rejected NOTIFYs from 203.0.113.1 suppressed",
      "NOTIFY refused",
    ]);
    rejections.stop();
  });
});
