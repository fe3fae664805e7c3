/**
 * @module A peer whose port is taken fails fast and says so, over either transport, so the harness can
 * retry on another port (and a test pinning `port` gets a clear error). named matters most: it carries
 * on with UDP alone when its TCP port is taken, which only the TCP start-up probe and its log reveal.
 */
import { createSocket } from "node:dgram";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { describe, expect, test } from "vitest";
import { PEERS } from "./index.ts";
import { PeerStartError } from "./launch.ts";
import { freePort } from "./ports.ts";
import type { PeerKind } from "./types.ts";

const ZONE = { name: "taken.test", text: "@ 60 IN SOA ns1 h 1 60 60 600 60\n@ NS ns1\nns1 A 127.0.0.1\n" };

/** Occupy `port` on 127.0.0.1 over one transport; returns the release function. */
async function hold(port: number, transport: "tcp" | "udp"): Promise<() => Promise<void>> {
  if (transport === "tcp") {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
    return () => new Promise((resolve) => server.close(() => resolve()));
  }
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(port, "127.0.0.1", () => resolve()));
  return () => new Promise((resolve) => socket.close(() => resolve()));
}

const cases = (Object.keys(PEERS) as PeerKind[]).flatMap((kind) => (["tcp", "udp"] as const).map((t) => [kind, t] as const));

describe.concurrent("port taken", () => {
  test.each(cases)("%s with its %s port taken fails within seconds, naming the port", async (kind, transport) => {
    const port = await freePort();
    const release = await hold(port, transport);
    const started = Date.now();
    let failure: unknown;
    try {
      await PEERS[kind]({ port, zones: [ZONE] });
    } catch (err) {
      failure = err;
    } finally {
      await release();
    }
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(failure).toBeInstanceOf(PeerStartError);
    const err = failure as PeerStartError;
    expect(err.message).toMatch(/in use|bind/i);
    expect(err.port).toBe(port);
    expect(existsSync(err.dir)).toBe(false);
  });
});
