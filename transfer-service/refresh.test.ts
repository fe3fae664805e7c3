/**
 * @module The `Refresher`'s reads of the Worker's zones: what a control signal or a poll asked for while a
 * read is in flight gets a read that starts after it, at most one, and not a share of the read in flight
 * (which may predate a zone created a moment ago: sharing it left that zone waiting a whole poll interval).
 * The state machine itself runs against real primaries in test/transfer/refresh.test.ts.
 */
import { describe, expect, it } from "vitest";
import { nodeHmac } from "../dns/hmac.node.ts";
import { loadConfig } from "./config.ts";
import { createLogger } from "./log.ts";
import { MemoryWorker } from "./memory-worker.ts";
import { Refresher } from "./refresh.ts";
import type { ZoneConfig } from "./worker-api.ts";

/** The in-memory Worker, with each zones read taken at once and its answer held until `release()`. */
class HeldReads extends MemoryWorker {
  reads = 0;
  private open: () => void = () => undefined;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));

  override async zones(): Promise<ZoneConfig[]> {
    const snapshot = await super.zones();
    this.reads++;
    await this.gate;
    return snapshot;
  }

  release(): void {
    this.open();
  }
}

const ZONE = "new.test";

interface Case {
  name: string;
  /** What happens while the first read is held. */
  during(refresher: Refresher, worker: HeldReads): void;
  /** Reads the Worker answered in all. */
  reads: number;
  /** Whether the zone is known once the poll that was asked first has resolved. */
  known: boolean;
}

const cases: Case[] = [
  {
    name: "a zone created and signalled during a read is found by the read queued after it",
    during(refresher, worker) {
      worker.addZone({ name: ZONE, model: "secondary", primaries: [], keys: [], notifyAllow: [] });
      expect(refresher.signal({ zone: ZONE, reason: "refresh", requestedAt: Date.now(), acceptLowerSerial: false })).toBe(false);
    },
    reads: 2,
    known: true,
  },
  {
    name: "three polls during a read queue one more read, not three",
    during(refresher) {
      for (let i = 0; i < 3; i++) void refresher.poll();
    },
    reads: 2,
    known: false,
  },
  {
    name: "nothing asked during a read: one read",
    during() {},
    reads: 1,
    known: false,
  },
];

describe("Refresher reads of the zones", () => {
  it.each(cases)("$name", async ({ during, reads, known }) => {
    const worker = new HeldReads();
    const settings = loadConfig({ BACKSTOP_INTERNAL_TOKEN: "test-internal-token-0123456789", BACKSTOP_POLL_INTERVAL_S: "3600" });
    const refresher = new Refresher({ worker, settings, log: createLogger({ level: "silent" }), hmac: nodeHmac });
    const first = refresher.poll();
    await Promise.resolve();
    during(refresher, worker);
    worker.release();
    await first;
    expect(worker.reads).toBe(reads);
    expect(refresher.get(ZONE) !== undefined).toBe(known);
    await refresher.stop();
  });
});
