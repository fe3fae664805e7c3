/**
 * @module Sending one DNS message to a real server over UDP or TCP (RFC 1035 §4.2.1, §4.2.2: two-octet length
 * prefix) and getting its reply's octets. In-process, not kdig: the differential suite asks hundreds of
 * questions, and a process per question would dominate its run time. Bounded: every call has a timeout.
 */
import { createSocket } from "node:dgram";
import { connect } from "node:net";

export interface Server {
  address: string;
  port: number;
}

/** One UDP exchange; the reply must carry the query's id. */
export function udpExchange(server: Server, query: Uint8Array, timeoutMs = 2000): Promise<Uint8Array> {
  const socket = createSocket(server.address.includes(":") ? "udp6" : "udp4");
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(() => reject(new Error(`no UDP reply from ${server.address}:${server.port} in ${timeoutMs} ms`))), timeoutMs);
    const finish = (fn: () => void) => {
      clearTimeout(timer);
      socket.close();
      fn();
    };
    socket.on("error", (err) => finish(() => reject(err)));
    socket.on("message", (msg) => {
      if (msg.length >= 2 && msg[0] === query[0] && msg[1] === query[1]) finish(() => resolve(new Uint8Array(msg)));
    });
    socket.send(query, server.port, server.address);
  });
}

/** One TCP exchange on a fresh connection. */
export function tcpExchange(server: Server, query: Uint8Array, timeoutMs = 2000): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.address, port: server.port });
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => finish(() => reject(new Error(`no TCP reply from ${server.address}:${server.port} in ${timeoutMs} ms`))), timeoutMs);
    const finish = (fn: () => void) => {
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    socket.on("error", (err) => finish(() => reject(err)));
    socket.on("connect", () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(query.length);
      socket.write(Buffer.concat([prefix, query]));
    });
    socket.on("data", (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length >= 2 + length) finish(() => resolve(new Uint8Array(buffered.subarray(2, 2 + length))));
      }
    });
  });
}
