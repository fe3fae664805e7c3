/**
 * @module The ingest chunker: chunks end only between owners (unless one owner outgrows four targets),
 * every record is sent once and in order, no more than `inFlight` sends run at once, each `add` lets the
 * event loop turn, and the first failed send surfaces at the next `add` or at `flush`.
 */
import { describe, expect, it } from "vitest";
import { RRType } from "../../dns/constants.ts";
import type { ResourceRecord } from "../../dns/message.ts";
import { Name } from "../../dns/name.ts";
import { IngestChunker } from "./ingest-chunker.ts";
import { releasableBytes, releaseBytes } from "../../dns/bytes.ts";
import { encodeRecordStream, parseRecordStream } from "../../contract/record-stream.ts";

const apex = Name.parse("chunk.test");
/** `n` A records of owner `label`: 28 octets each in a stream for a one-letter label (14 + 10 + 4). */
const owner = (label: string, n: number): ResourceRecord[] =>
  Array.from({ length: n }, (_, i) => ({ name: apex.child(label), type: RRType.A, class: 1, ttl: 60, rdata: Uint8Array.of(10, 0, 0, i) }));

interface Sent {
  seq: number;
  owners: string[];
  records: number;
}

/** A chunker whose sends take `delayMs` and are recorded; `failAt` makes that seq's send reject. */
function harness(targetBytes: number, inFlight: number, delayMs = 0, failAt = -1, firstBytes?: number) {
  const sent: Sent[] = [];
  let running = 0, maxRunning = 0;
  const chunker = new IngestChunker({
    targetBytes,
    firstBytes,
    inFlight,
    encode: encodeRecordStream,
    send: async (seq, body) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, delayMs));
      running--;
      if (seq === failAt) throw new Error(`chunk ${seq} refused`);
      // What the Worker will read: the body decoded as a record stream.
      const records = parseRecordStream(body);
      sent.push({ seq, owners: [...new Set(records.map((r) => r.name.toString()))], records: records.length });
    },
  });
  return { chunker, sent, maxRunning: () => maxRunning };
}

describe("IngestChunker", () => {
  it.each([
    // label, owners (label × records), target bytes, expected chunk owner lists
    ["small owners, cut at the first owner past the target", [["a", 3], ["b", 3], ["c", 3], ["d", 1]], 100, [["a", "b"], ["c", "d"]]],
    ["an owner bigger than the target stays whole", [["a", 10], ["b", 1]], 80, [["a"], ["b"]]],
    ["everything fits one chunk", [["a", 2], ["b", 2]], 10_000, [["a", "b"]]],
    ["an owner beyond four targets is cut (the Worker merges it back)", [["a", 12]], 30, [["a"], ["a"], ["a"]]],
  ] as const)("%s", async (_label, owners, target, expected) => {
    const { chunker, sent } = harness(target, 2);
    const records = owners.flatMap(([label, n]) => owner(label, n));
    // Fed in small pieces, as the AXFR client does.
    for (let i = 0; i < records.length; i += 2) await chunker.add(records.slice(i, i + 2));
    await chunker.flush();
    sent.sort((x, y) => x.seq - y.seq);
    expect(sent.map((s) => s.owners.map((o) => o.split(".")[0]))).toEqual(expected);
    expect(sent.reduce((n, s) => n + s.records, 0)).toBe(records.length);
    expect(sent.map((s) => s.seq)).toEqual(expected.map((_, i) => i));
  });

  it.each([1, 3])("keeps at most %i sends in flight", async (inFlight) => {
    const { chunker, sent, maxRunning } = harness(20, inFlight, 5);
    for (let i = 0; i < 12; i++) await chunker.add(owner(`h${i}`, 1));
    await chunker.flush();
    expect(sent).toHaveLength(12);
    expect(maxRunning()).toBe(inFlight);
  });

  it("lets the event loop turn in every add, so the AXFR socket is read while records are taken", async () => {
    const { chunker } = harness(1 << 20, 2);
    for (let i = 0; i < 3; i++) {
      let ioRan = false;
      setImmediate(() => (ioRan = true));
      await chunker.add(owner(`h${i}`, 2));
      expect(ioRan, `add ${i}`).toBe(true);
    }
    await chunker.flush();
  });

  it("throws the first failed send at the next add or at flush, and sends nothing after it", async () => {
    const { chunker, sent } = harness(20, 1, 1, 1);
    const adds = (async () => {
      for (let i = 0; i < 8; i++) await chunker.add(owner(`h${i}`, 1));
      await chunker.flush();
    })();
    await expect(adds).rejects.toThrow("chunk 1 refused");
    expect(sent.map((s) => s.seq)).toEqual([0]);
    expect(chunker.chunks).toBeLessThanOrEqual(3);
    await chunker.settle();
  });

  it("takes record streams already cut between owners: the SOA's pending records join the first, each ships past the target", async () => {
    const { chunker, sent } = harness(100, 2);
    await chunker.add(owner("s", 1));
    await chunker.addStream(encodeRecordStream([...owner("a", 3), ...owner("b", 2)]));
    await chunker.addStream(encodeRecordStream(owner("c", 1)));
    await chunker.addStream(encodeRecordStream(owner("d", 4)));
    await chunker.flush();
    sent.sort((x, y) => x.seq - y.seq);
    expect(sent.map((s) => s.owners.map((o) => o.split(".")[0]))).toEqual([["s", "a", "b"], ["c", "d"]]);
    expect(sent.reduce((n, s) => n + s.records, 0)).toBe(11);
  });

  it("ships the stream's first piece at once once it is firstBytes, far under the target, so that the Worker starts storing early", async () => {
    const { chunker, sent } = harness(1000, 2, 20, -1, 40);
    await chunker.add(owner("s", 1));
    expect(chunker.chunks).toBe(0);
    await chunker.addStream(encodeRecordStream(owner("a", 2)));
    // On its way, far under the target.
    expect(chunker.chunks).toBe(1);
    await chunker.addStream(encodeRecordStream(owner("b", 2)));
    await chunker.addStream(encodeRecordStream(owner("c", 2)));
    // Later pieces wait for the target again.
    expect(chunker.chunks).toBe(1);
    await chunker.flush();
    sent.sort((x, y) => x.seq - y.seq);
    expect(sent.map((s) => s.owners.map((o) => o.split(".")[0]))).toEqual([["s", "a"], ["b", "c"]]);
  });

  it("keeps a first piece smaller than firstBytes (a whole small zone) for the whole-zone request: nothing is shipped", async () => {
    const { chunker, sent } = harness(100_000, 2, 0, -1, 50_000);
    await chunker.add(owner("s", 1));
    await chunker.addStream(encodeRecordStream(owner("a", 3)));
    expect(chunker.chunks).toBe(0);
    const whole = parseRecordStream(chunker.takeUnshipped());
    expect(whole.map((r) => r.name.toString().split(".")[0])).toEqual(["s", "a", "a", "a"]);
    await chunker.flush();
    expect(sent).toEqual([]);
  });
});

describe("the stream's memory", () => {
  // Issue 28, session 8: a chunk's 1 MB lived until a garbage collection found it dead (V8 collects for
  // ArrayBuffers only every ~64 MB of them): ~45 MiB of a 1M-record transfer's peak RSS.
  it("gives a releasable piece back once the Worker has it, and pieces joined into one body once joined", async () => {
    const piece = (label: string) => {
      const stream = encodeRecordStream(owner(label, 4));
      const bytes = releasableBytes(stream.length);
      bytes.set(stream);
      return bytes;
    };
    const bodies: Uint8Array[] = [];
    let release: () => void = () => undefined;
    const chunker = new IngestChunker({
      targetBytes: 200,
      firstBytes: 100,
      inFlight: 1,
      encode: encodeRecordStream,
      send: async (_seq, body) => {
        bodies.push(body);
        // What the Worker reads is intact while it is sent.
        expect(parseRecordStream(body).length).toBeGreaterThan(0);
        await new Promise<void>((r) => (release = r));
      },
    });
    const first = piece("a");
    await chunker.addStream(first);
    expect(bodies[0]).toBe(first);
    expect(first.length).toBeGreaterThan(0);
    release();
    const [b, c] = [piece("b"), piece("c")];
    await chunker.addStream(b);
    await chunker.addStream(c);
    // Shipping b + c waited for the first send to end: the first piece is given back; b and c, joined, too.
    expect(first.length).toBe(0);
    expect(b.length).toBe(0);
    expect(c.length).toBe(0);
    expect(parseRecordStream(bodies[1]!).map((r) => r.name.toString())).toEqual([...owner("b", 4), ...owner("c", 4)].map((r) => r.name.toString()));
    release();
    await chunker.flush();
    expect(bodies[1]!.length).toBe(0);
    // Octets that are not releasable (a caller's own) are left alone.
    const plain = encodeRecordStream(owner("d", 4));
    releaseBytes(plain);
    expect(plain.length).toBe(encodeRecordStream(owner("d", 4)).length);
  });
});
