/**
 * @module A test-only bridge that serves the answer engine over real UDP and TCP on loopback (RFC 1035 §4.2),
 * so that real clients (`delv`, `kdig`) can ask it until the transfer-service's port-53 front forwards to
 * the Worker (issue 8: "Until that front exists, `delv` runs against a small test-only bridge"). It tells
 * the engine the transport and the client's address, as the front will.
 */
import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server } from "node:net";
import { answerQuery, NotDnsMessage } from "../../answer/engine.ts";
import type { ZoneStore } from "../../answer/zone-store.ts";
import { freePort } from "../peers/ports.ts";

export interface Bridge {
  address: string;
  port: number;
  close(): Promise<void>;
}

export async function startBridge(store: ZoneStore): Promise<Bridge> {
  const address = "127.0.0.1";
  const port = await freePort();
  const answer = async (wire: Uint8Array, transport: "udp" | "tcp", client: string): Promise<Uint8Array | null> => {
    try {
      return (await answerQuery(store, wire, { transport, client: { address: client, admin: false }, now: Date.now() })).wire;
    } catch (err) {
      if (err instanceof NotDnsMessage) return null; // no id to answer
      throw err;
    }
  };

  const udp: Socket = createSocket("udp4");
  udp.on("message", (msg, rinfo) => {
    void answer(new Uint8Array(msg), "udp", rinfo.address).then((out) => {
      if (out) udp.send(out, rinfo.port, rinfo.address);
    });
  });
  await new Promise<void>((resolve, reject) => {
    udp.once("error", reject);
    udp.bind(port, address, () => resolve());
  });

  const tcp: Server = createServer((socket) => {
    let buffered = Buffer.alloc(0);
    socket.on("error", () => socket.destroy());
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on("data", (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const length = buffered.readUInt16BE(0);
        const message = new Uint8Array(buffered.subarray(2, 2 + length));
        buffered = buffered.subarray(2 + length);
        void answer(message, "tcp", socket.remoteAddress ?? "").then((out) => {
          if (!out) {
            socket.destroy();
            return;
          }
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(out.length);
          socket.write(Buffer.concat([prefix, out]));
        });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(port, address, () => resolve());
  });

  return {
    address,
    port,
    close: async () => {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
