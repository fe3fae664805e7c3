/**
 * @module freePort hands out distinct ports, below the ephemeral range, that really are free for both
 * UDP and TCP on loopback, and isPortFree notices a port in use by either.
 */
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { expect, test } from "vitest";
import { freePort, freePorts, isPortFree } from "./ports.ts";

test("freePorts gives distinct ports below the ephemeral range, bindable for UDP and TCP", async () => {
  const ports = await freePorts(20);
  expect(new Set(ports).size).toBe(20);
  for (const port of ports) {
    expect(port).toBeGreaterThanOrEqual(20000);
    expect(port).toBeLessThan(32768);
    expect(await isPortFree(port)).toBe(true);
  }
});

test.each(["tcp", "udp"] as const)("a port held over %s is not free", async (transport) => {
  const port = await freePort();
  const release =
    transport === "tcp"
      ? await new Promise<() => Promise<void>>((resolve) => {
          const s = createServer().listen(port, "127.0.0.1", () => resolve(() => new Promise((r) => s.close(() => r()))));
        })
      : await new Promise<() => Promise<void>>((resolve) => {
          const s = createSocket("udp4");
          s.bind(port, "127.0.0.1", () => resolve(() => new Promise((r) => s.close(() => r()))));
        });
  expect(await isPortFree(port)).toBe(false);
  await release();
  expect(await isPortFree(port)).toBe(true);
});
