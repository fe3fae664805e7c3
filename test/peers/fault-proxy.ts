/**
 * @module A loopback proxy in front of a real peer that misbehaves on request, for the transfer faults
 * a secondary must survive (issue 5): a TCP stream cut short after N bytes (clean FIN), a connection
 * reset mid-transfer (RST), a primary that goes silent mid-transfer, and one that never answers.
 * UDP (SOA queries, NOTIFY replies) is relayed too, so a secondary can be pointed at the proxy alone.
 * Only the server → client direction is faulted: that is where a transfer breaks.
 */
import { type Socket as UdpSocket, createSocket } from "node:dgram";
import { type Server, type Socket, connect, createServer } from "node:net";
import { freePort } from "./ports.ts";

export type Fault =
  /** Relay faithfully. */
  | { kind: "none" }
  /** Relay `afterBytes` bytes of the server's stream, then close both sides cleanly (FIN). */
  | { kind: "truncate"; afterBytes: number }
  /** Relay `afterBytes` bytes, then reset the client connection (RST). */
  | { kind: "reset"; afterBytes: number }
  /** Relay `afterBytes` bytes, then relay nothing more but keep the connection open. */
  | { kind: "stall"; afterBytes: number }
  /** Accept TCP connections and take UDP queries, but never answer. */
  | { kind: "blackhole" };

export interface FaultProxy {
  address: string;
  port: number;
  /** The fault applied to connections and datagrams from now on (a connection keeps the one it began with). */
  fault: Fault;
  /** TCP connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/** Proxy `127.0.0.1:<free port>` → `target` on TCP and UDP. */
export async function startFaultProxy(opts: { target: { address: string; port: number }; fault?: Fault }): Promise<FaultProxy> {
  const address = "127.0.0.1";
  const port = await freePort();
  const open = new Set<Socket>();
  let connections = 0;

  const proxy: FaultProxy = {
    address,
    port,
    fault: opts.fault ?? { kind: "none" },
    get connections() {
      return connections;
    },
    close: async () => {
      for (const s of open) s.destroy();
      for (const s of relays.values()) s.close();
      relays.clear();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    },
  };

  const track = (s: Socket) => {
    open.add(s);
    s.on("close", () => open.delete(s));
    s.on("error", () => s.destroy());
  };

  const tcp: Server = createServer((client) => {
    connections++;
    track(client);
    const fault = proxy.fault;
    if (fault.kind === "blackhole") return; // hold it open, say nothing
    const upstream = connect(opts.target.port, opts.target.address);
    track(upstream);
    client.on("data", (chunk) => upstream.write(chunk));
    client.on("end", () => upstream.end());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => {
      if (fault.kind !== "stall") client.end();
    });
    let sent = 0;
    let done = false;
    upstream.on("data", (chunk: Buffer) => {
      if (done) return;
      if (fault.kind === "none") {
        client.write(chunk);
        return;
      }
      const room = fault.afterBytes - sent;
      if (chunk.length < room) {
        sent += chunk.length;
        client.write(chunk);
        return;
      }
      done = true;
      client.write(chunk.subarray(0, room));
      sent += room;
      if (fault.kind === "truncate") {
        client.end();
        upstream.destroy();
      } else if (fault.kind === "reset") {
        // Let the partial bytes leave first, then RST.
        client.write(Buffer.alloc(0), () => {
          client.resetAndDestroy();
          upstream.destroy();
        });
      } else {
        upstream.destroy(); // stall: the client waits on an open, silent connection
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(port, address, () => resolve());
  });

  // UDP: one upstream socket per client address, so replies find their way back.
  const relays = new Map<string, UdpSocket>();
  const udp = createSocket("udp4");
  udp.on("message", (msg, from) => {
    if (proxy.fault.kind === "blackhole") return;
    const key = `${from.address}:${from.port}`;
    let relay = relays.get(key);
    if (!relay) {
      const r = createSocket(opts.target.address.includes(":") ? "udp6" : "udp4");
      r.on("message", (reply) => udp.send(reply, from.port, from.address));
      r.on("error", () => {
        r.close();
        relays.delete(key);
      });
      relays.set(key, r);
      relay = r;
    }
    relay.send(msg, opts.target.port, opts.target.address);
  });
  await new Promise<void>((resolve, reject) => {
    udp.once("error", reject);
    udp.bind(port, address, () => resolve());
  });
  return proxy;
}
