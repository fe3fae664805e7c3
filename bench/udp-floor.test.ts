import { describe, expect, it } from "vitest";
import { buildQuery, udpExchange } from "../test/tsig/wire-client.ts";
import { startUdpFloor } from "./udp-floor.ts";

/** Whether `pid` is a live process (signal 0 checks without sending). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("the Node dgram floor of the UDP bench", () => {
  it.each([1, 2])("echoes each query as a response with %i reading process(es), and stops every one of them", async (processes) => {
    const floor = await startUdpFloor(processes);
    const pids = floor.pids();
    try {
      expect(pids).toHaveLength(processes === 1 ? 1 : processes + 1);
      for (let id = 1; id <= 8; id++) {
        const query = buildQuery(id, "example.", 1);
        const reply = await udpExchange(floor.port, query, 5000);
        expect(reply.length).toBe(query.length);
        expect((reply[0]! << 8) | reply[1]!).toBe(id);
        expect(reply[2]! & 0x80).toBe(0x80); // QR
        expect(reply[3]! & 0x0f).toBe(0); // NOERROR
        expect(reply.subarray(4)).toEqual(query.subarray(4)); // counts and question as asked
      }
    } finally {
      await floor.stop();
    }
    // The cluster's workers go with their primary: wait for it, bounded.
    const deadline = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(pids.filter(alive)).toEqual([]);
  }, 60_000);
});
