/**
 * @module Issue 19: what a quiet zone holds in the service (`testing/zone-memory.ts`: a zone set of 5,000
 * zones, the heap after full collections), bounded. Before the zones shared their timer, NOTIFY rules and
 * logger and stopped holding a parsed name and an empty backoff map, a zone held about 5,000 bytes; it holds
 * about 2,100 now. The bound leaves room for V8's differences between versions, not for the old layout.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

describe("memory per zone", () => {
  it("a quiet zone holds under 3,000 bytes of heap", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--expose-gc", "--import", "tsx", "transfer-service/testing/zone-memory.ts", "5000"], { timeout: 120_000 });
    const { heapBytesPerZone } = JSON.parse(stdout.trim().split("\n").at(-1)!) as { heapBytesPerZone: number };
    expect(heapBytesPerZone).toBeGreaterThan(0);
    expect(heapBytesPerZone).toBeLessThan(3_000);
  }, 150_000);
});
