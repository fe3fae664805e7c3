/**
 * @module The floor of Node 20's `dgram` on this machine (issue 27's UDP rows): a server that does no DNS work
 * at all. Each datagram of at least a header's length is copied, its QR bit set, its RCODE left NOERROR, and sent
 * back to where it came from, with the same `socket.send(buffer, port, address)` the port-53 front uses
 * (`transfer-service/server/dns-listener.ts`). What it costs per query is what Node's receive (a 64 KiB buffer
 * per datagram, the `rinfo` object, the `message` event) and send (the send wrap, the kernel) cost; no front
 * written on Node 20's dgram can answer faster per process, so its rate beside knotd's is the ceiling of the
 * UDP bench's ratios (as the trivial Worker is the DoH bench's).
 *
 * Started by `udp-floor.ts` as `node --import tsx bench/udp-floor-server.ts N`, as the transfer-service is.
 * N = 1: one process binds 127.0.0.1:0. N ≥ 2: as `BACKSTOP_FRONT_PROCESSES=N` does (`front-processes.ts`),
 * node:cluster's primary holds one shared UDP socket and N workers read from it. Prints one JSON line,
 * `{"port":P}`, once every process is bound; the processes' pids are the launcher's to find (/proc).
 */
import cluster from "node:cluster";
import { createSocket } from "node:dgram";

const DNS_HEADER = 12;

/** Binds 127.0.0.1 (`port` 0: the kernel's choice; shared when run in a cluster worker) and echoes every query. */
function serve(port: number, ready: (port: number) => void): void {
  const socket = createSocket("udp4");
  socket.on("message", (msg, rinfo) => {
    if (msg.length < DNS_HEADER) return;
    const reply = Buffer.from(msg);
    reply[2] = (reply[2]! | 0x80) & 0xf9; // QR = 1; AA and TC clear; OPCODE and RD as asked
    reply[3] = 0; // RA, Z, AD, CD clear; RCODE NOERROR
    socket.send(reply, rinfo.port, rinfo.address);
  });
  socket.bind({ address: "127.0.0.1", port, exclusive: false }, () => ready(socket.address().port));
}

const processes = Math.max(1, Number(process.argv[2] ?? "1") | 0);
if (processes === 1) {
  serve(0, (port) => console.log(JSON.stringify({ port })));
} else if (cluster.isPrimary) {
  const ports: number[] = [];
  for (let i = 0; i < processes; i++) {
    cluster.fork().on("message", (m: { port: number }) => {
      ports.push(m.port);
      if (ports.length < processes) return;
      if (new Set(ports).size !== 1) {
        console.error(`the workers bound different ports: ${ports.join(", ")}`);
        process.exit(1);
      }
      console.log(JSON.stringify({ port: ports[0] }));
    });
  }
  cluster.on("exit", () => process.exit(1));
  process.on("SIGTERM", () => {
    cluster.removeAllListeners("exit");
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
} else {
  // Port 0 in every worker: node:cluster hands all of them the one socket its primary bound for that key.
  serve(0, (port) => process.send?.({ port }));
}
