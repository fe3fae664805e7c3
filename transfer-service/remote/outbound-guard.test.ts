/**
 * A stored primary at a forbidden address (an old row, written before the API refused it) gets neither an SOA
 * query nor a transfer: `querySoa` and `transfer` fail with "forbidden-address", in words, before any socket
 * exists. `node:dgram` and `node:net` are wrapped so the test counts every socket the code under test opens,
 * and so that no datagram or connection can go anywhere but loopback even if the guard were missing: the
 * wrapper throws instead of sending. A loopback primary is the control that the counting works. Last, a
 * whole refresh (the zone set over the in-memory Worker) shows the refusal as the zone's status.
 */
import { createSocket } from "node:dgram";
import type * as Dgram from "node:dgram";
import type * as Net from "node:net";
import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { RRType } from "../../dns/constants.ts";
import { nodeHmac } from "../../dns/hmac.node.ts";
import { Name } from "../../dns/name.ts";
import { soa as soaCodec } from "../../dns/rdata/soa.ts";
import { loadConfig } from "../config.ts";
import { createLogger } from "../ops/log.ts";
import { MemoryWorker } from "../testing/memory-worker.ts";
import { ZoneSet } from "../zones/zone-set.ts";
import { querySoa } from "./soa-query.ts";
import { TransferError } from "./transfer-error.ts";
import { transfer, type XfrLimits, type XfrSink } from "./xfr-in.ts";

const opened = vi.hoisted(() => ({ udp: 0, tcp: 0, refusedSends: [] as string[] }));

/** Loopback only: 127.0.0.0/8 and ::1 (also IPv4-mapped). */
const isLoopback = (host: string): boolean => /^(::ffff:)?127\.\d+\.\d+\.\d+$/i.test(host) || host === "::1";

vi.mock("node:dgram", async (importOriginal) => {
  const real = await importOriginal<typeof Dgram>();
  const createSocket = ((...args: Parameters<typeof real.createSocket>) => {
    opened.udp++;
    const socket = real.createSocket(...args);
    const send = socket.send.bind(socket) as (...a: unknown[]) => void;
    // send(msg, port, address, callback), as soa-query.ts calls it.
    (socket as unknown as { send: (...a: unknown[]) => void }).send = (...a: unknown[]) => {
      const address = String(a[2]);
      if (!isLoopback(address)) {
        opened.refusedSends.push(address);
        throw new Error(`test guard: a datagram to ${address} would have left loopback`);
      }
      send(...a);
    };
    return socket;
  }) as typeof real.createSocket;
  return { ...real, default: { ...real, createSocket }, createSocket };
});

vi.mock("node:net", async (importOriginal) => {
  const real = await importOriginal<typeof Net>();
  const connect = ((options: { host?: string; port: number }) => {
    opened.tcp++;
    if (!isLoopback(options.host ?? "")) {
      opened.refusedSends.push(String(options.host));
      throw new Error(`test guard: a connection to ${options.host} would have left loopback`);
    }
    return real.connect(options);
  }) as typeof real.connect;
  return { ...real, default: { ...real, connect }, connect };
});

const zone = Name.parse("old-row.test");
const soaOptions = { timeoutMs: 100, tries: 1 };
const limits = { connectTimeoutMs: 1000, idleTimeoutMs: 1000, totalTimeoutMs: 2000, maxRecords: 1000, maxBytes: 1_000_000, chunkRecords: 100 } as XfrLimits;

const ourSoa = {
  name: zone,
  type: RRType.SOA,
  class: 1,
  ttl: 3600,
  rdata: soaCodec.encode({ mname: Name.parse("ns.old-row.test"), rname: Name.parse("h.old-row.test"), serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 300 }),
};

const sink: XfrSink = {
  beginFull: async () => undefined,
  beginIncremental: async () => undefined,
  beginChangeset: async () => undefined,
  additions: async () => undefined,
  records: async () => undefined,
  end: async () => undefined,
} as unknown as XfrSink;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  opened.udp = 0;
  opened.tcp = 0;
  opened.refusedSends.length = 0;
});

const FORBIDDEN = ["169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254", "0.0.0.0", "::", "255.255.255.255", "224.0.0.1", "ff02::1", "169.254.10.1", "fe80::1"];

describe("a stored primary at a forbidden address", () => {
  it.each(FORBIDDEN)("%s gets no SOA query: forbidden-address, no socket", async (address) => {
    const err = await querySoa(zone, { address, port: 53 }, soaOptions).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransferError);
    expect((err as TransferError).code).toBe("forbidden-address");
    expect((err as TransferError).message).toMatch(/^not sending our SOA query for old-row\.test\. to .+: .+ is .+ change this zone's primaries$/);
    expect([opened.udp, opened.tcp, opened.refusedSends]).toEqual([0, 0, []]);
  });

  it.each(FORBIDDEN)("%s gets no AXFR or IXFR: forbidden-address, no connection", async (address) => {
    for (const kind of ["axfr", "ixfr"] as const) {
      const err = await transfer({ kind, zone, primary: { address, port: 53 }, sink, limits, currentSoa: ourSoa }).catch((e: unknown) => e);
      expect((err as TransferError).code).toBe("forbidden-address");
      expect((err as TransferError).message).toContain(`our ${kind.toUpperCase()} of old-row.test.`);
    }
    expect([opened.udp, opened.tcp, opened.refusedSends]).toEqual([0, 0, []]);
  });

  it("names the address and why: the words that become the zone's status", async () => {
    const err = (await querySoa(zone, { address: "169.254.169.254", port: 53 }, soaOptions).catch((e: unknown) => e)) as TransferError;
    expect(err.message).toContain("169.254.169.254:53");
    expect(err.message).toContain("cloud metadata");
  });

  it("control: a loopback primary is asked (the counters see real sockets)", async () => {
    // A UDP socket that reads and never answers, so the query times out after one try.
    // (This file's own sockets go through the wrappers too, so the counts are taken as differences.)
    const silent = createSocket("udp4");
    await new Promise<void>((r) => silent.bind(0, "127.0.0.1", r));
    const port = silent.address().port;
    try {
      const before = opened.udp;
      const err = await querySoa(zone, { address: "127.0.0.1", port }, soaOptions).catch((e: unknown) => e);
      expect((err as TransferError).code).toBe("timeout");
      expect(opened.udp - before).toBe(1);
    } finally {
      silent.close();
    }
    // A TCP listener that is closed at once: the connection is tried and refused.
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const tcpPort = (server.address() as { port: number }).port;
    await new Promise((r) => server.close(r));
    const err = await transfer({ kind: "axfr", zone, primary: { address: "127.0.0.1", port: tcpPort }, sink, limits }).catch((e: unknown) => e);
    expect((err as TransferError).code).toBe("connect");
    expect(opened.tcp).toBe(1);
    expect(opened.refusedSends).toEqual([]);
  });
});

describe("a zone whose stored primaries are all forbidden", () => {
  it("reports the refusal in words as its status, after trying every primary, and opens no socket", async () => {
    const worker = new MemoryWorker();
    const settings = loadConfig({ BACKSTOP_INTERNAL_TOKEN: "test-internal-token-0123456789", BACKSTOP_POLL_INTERVAL_S: "3600", BACKSTOP_SOA_TIMEOUT_MS: "100", BACKSTOP_SOA_TRIES: "1" });
    const zones = new ZoneSet({ worker, settings, log: createLogger({ level: "silent" }), hmac: nodeHmac });
    // As an old row would hold them: written before the API refused such addresses.
    const primaries = [
      { address: "169.254.169.254", port: 53 },
      { address: "::ffff:0.0.0.0", port: 53 },
    ];
    worker.addZone({ name: "old-row.test", model: "secondary", primaries, keys: [], notifyAllow: [] });
    try {
      await zones.poll();
      const deadline = Date.now() + 20_000;
      while (worker.reports("old-row.test").length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const [report] = worker.reports("old-row.test");
      expect(report, "no report within 20 s").toBeDefined();
      expect(report!.statusDetail).toContain("169.254.169.254:53: 169.254.169.254 is a cloud metadata service address");
      expect(report!.statusDetail).toContain("[::ffff:0.0.0.0]:53: ::ffff:0.0.0.0 is IPv4-mapped for 0.0.0.0, which is an unspecified address");
      expect([opened.udp, opened.tcp, opened.refusedSends]).toEqual([0, 0, []]);
    } finally {
      await zones.stop();
    }
  });
});
