/**
 * @module The listener's streaming reply (a zone transfer out) over a real TCP socket on loopback: the
 * messages arrive whole and in order; a client that stops reading stops the stream (the generator is not
 * pulled past the unsent bound plus a message: a transfer's memory does not grow with the zone), and it
 * goes on to the end when the client reads again; a query pipelined behind a transfer is answered after
 * it; a stream that fails half-way closes the connection; a client that leaves ends the stream.
 */
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FrameDecoder, frame } from "../../../dns/wire/tcp-framing.ts";
import { type DnsListener, startDnsListener } from "../dns-listener.ts";
import type { DnsReply } from "../request-context.ts";
import { createLogger } from "../../ops/log.ts";
import { Metrics } from "../../ops/metrics.ts";

const log = createLogger({ level: "silent" });
const MESSAGE = 60 * 1024;
const UNSENT = 256 * 1024;
let listener: DnsListener | undefined;

afterEach(async () => {
  await listener?.close();
  listener = undefined;
});

/** Message i of a stream: 60 KiB, its index in the first four octets (after the ID). */
const message = (i: number): Uint8Array => {
  const m = new Uint8Array(MESSAGE);
  new DataView(m.buffer).setUint32(2, i);
  m[2] = m[2]! | 0x80;
  return m;
};

interface Plan {
  count: number;
  failAt?: number;
}

async function start(plan: Plan) {
  const state = { pulled: 0, finished: false, singles: 0 };
  listener = await startDnsListener({
    addresses: [{ host: "127.0.0.1", port: 0 }],
    handler: (m): DnsReply => {
      if (m[12] !== 0xaa) {
        state.singles++;
        const r = m.slice();
        r[2] = r[2]! | 0x80;
        return r;
      }
      async function* stream(): AsyncGenerator<Uint8Array> {
        try {
          for (let i = 0; i < plan.count; i++) {
            if (i === plan.failAt) throw new Error("the Worker went away");
            state.pulled++;
            yield message(i);
          }
        } finally {
          state.finished = true;
        }
      }
      return { stream: stream() };
    },
    log,
    metrics: new Metrics({ defaultMetrics: false }),
    tcpIdleTimeoutMs: 10_000,
    maxTcpConnections: 10,
    tcp: { maxUnsentBytes: UNSENT, writeTimeoutMs: 60_000 },
  });
  const socket = await new Promise<Socket>((resolve) => {
    const s = connect(listener!.addresses[0]!.port, "127.0.0.1", () => resolve(s));
  });
  socket.on("error", () => undefined);
  const received: Uint8Array[] = [];
  const decoder = new FrameDecoder();
  socket.on("data", (d: Buffer) => received.push(...decoder.push(new Uint8Array(d))));
  return { state, socket, received };
}

const transferQuery = (id: number): Uint8Array => {
  const q = new Uint8Array(17);
  q[0] = id >> 8;
  q[1] = id & 0xff;
  q[12] = 0xaa; // the handler's mark for "stream"
  return q;
};
const plainQuery = (id: number): Uint8Array => {
  const q = new Uint8Array(17);
  q[0] = id >> 8;
  q[1] = id & 0xff;
  return q;
};

async function waitUntil(check: () => boolean, withinMs = 10_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until `value()` has not changed for 300 ms (bounded). */
async function waitStable(value: () => number): Promise<number> {
  const deadline = Date.now() + 20_000;
  let last = -1;
  let since = Date.now();
  while (Date.now() < deadline) {
    const v = value();
    if (v !== last) [last, since] = [v, Date.now()];
    else if (Date.now() - since >= 300) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("value never settled");
}

const indexOf = (m: Uint8Array): number => new DataView(m.buffer, m.byteOffset).getUint32(2) & 0x7fffffff;

describe("a streaming reply", () => {
  it("is pulled only as fast as the client reads, and arrives whole and in order, followed by a pipelined answer", async () => {
    const count = 2_000; // 2,000 × 60 KiB = 120 MB: far more than the kernel's buffers can hide
    const { state, socket, received } = await start({ count });
    socket.pause();
    socket.write(Buffer.concat([frame(transferQuery(1)), frame(plainQuery(2))]));
    const pulled = await waitStable(() => state.pulled);
    // Kernel buffers on both sides hold some megabytes at most; the listener itself holds at most the
    // unsent bound plus one message. Without back-pressure all 2,000 would be pulled at once.
    expect(pulled).toBeLessThan(count / 4);
    expect(state.singles).toBe(0); // the pipelined query waits for the transfer
    socket.resume();
    await waitUntil(() => received.length === count + 1, 60_000);
    expect(received.slice(0, count).map(indexOf)).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(received.slice(0, count).every((m) => m.length === MESSAGE)).toBe(true);
    expect(received[count]!.length).toBe(17); // the pipelined answer, after the transfer
    expect(state.finished).toBe(true);
    socket.destroy();
  }, 90_000);

  it("closes the connection when the stream fails half-way", async () => {
    const { state, socket, received } = await start({ count: 10, failAt: 4 });
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.write(frame(transferQuery(1)));
    await closed;
    expect(received.length).toBe(4);
    expect(state.finished).toBe(true);
  });

  it("stops pulling the stream when the client goes away", async () => {
    const { state, socket } = await start({ count: 100_000 });
    socket.pause();
    socket.write(frame(transferQuery(1)));
    await waitUntil(() => state.pulled > 0);
    socket.destroy();
    await waitUntil(() => state.finished, 10_000);
    expect(state.pulled).toBeLessThan(1_000);
  });
});
