/**
 * @module Free loopback ports for real peers. A DNS server needs the same number free for UDP and TCP,
 * so a candidate is bound both ways on 127.0.0.1 before it is handed out.
 *
 * Candidates come from 20000–32767, below Linux's ephemeral range (32768–60999 by default): a port the
 * kernel picks for `bind(0)` is also the kind it hands to outgoing sockets (kdig, named's own queries),
 * which could grab it between our check and the daemon's bind. Test files run in parallel processes,
 * so the choice is random rather than sequential, and a port handed out once is never handed out again
 * by this process.
 */
import { createSocket } from "node:dgram";
import { createServer } from "node:net";

const LOW = 20000;
const HIGH = 32767;
const MAX_ATTEMPTS = 200;
const handedOut = new Set<number>();

function tcpFree(port: number, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: address, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function udpFree(port: number, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(address.includes(":") ? "udp6" : "udp4");
    socket.once("error", () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ port, address, exclusive: true }, () => socket.close(() => resolve(true)));
  });
}

/** True when `port` can be bound for both TCP and UDP on `address` right now. */
export async function isPortFree(port: number, address = "127.0.0.1"): Promise<boolean> {
  return (await tcpFree(port, address)) && (await udpFree(port, address));
}

/** A port free for both TCP and UDP on 127.0.0.1 (and on ::1 when `ipv6` is set). */
export async function freePort(opts: { ipv6?: boolean } = {}): Promise<number> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW + 1));
    if (handedOut.has(port)) continue;
    if (!(await isPortFree(port, "127.0.0.1"))) continue;
    if (opts.ipv6 && !(await isPortFree(port, "::1"))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no port free for both UDP and TCP on loopback after ${MAX_ATTEMPTS} tries in ${LOW}-${HIGH}`);
}

/** `n` distinct free ports. */
export async function freePorts(n: number, opts: { ipv6?: boolean } = {}): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(await freePort(opts));
  return ports;
}
