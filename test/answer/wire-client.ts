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

/**
 * A TCP connection kept open for many exchanges, one at a time (RFC 7766 §6.2.1: servers keep connections
 * for several queries). Reconnects when the server closes it. Saves a handshake per question, which is most
 * of the differential suite's run time.
 */
export class TcpSession {
  private socket: ReturnType<typeof connect> | undefined;
  private buffered = Buffer.alloc(0);
  private waiting: { resolve: (reply: Uint8Array) => void; reject: (err: Error) => void } | undefined;

  constructor(private readonly server: Server) {}

  private open(): Promise<ReturnType<typeof connect>> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.server.address, port: this.server.port });
      socket.once("connect", () => resolve(socket));
      socket.once("error", reject);
      socket.on("data", (chunk) => {
        this.buffered = Buffer.concat([this.buffered, chunk]);
        if (this.buffered.length >= 2 && this.buffered.length >= 2 + this.buffered.readUInt16BE(0)) {
          const length = this.buffered.readUInt16BE(0);
          const reply = new Uint8Array(this.buffered.subarray(2, 2 + length));
          this.buffered = this.buffered.subarray(2 + length);
          const w = this.waiting;
          this.waiting = undefined;
          w?.resolve(reply);
        }
      });
      socket.on("close", () => {
        this.socket = undefined;
        this.buffered = Buffer.alloc(0);
        const w = this.waiting;
        this.waiting = undefined;
        w?.reject(new Error(`${this.server.address}:${this.server.port} closed the connection`));
      });
    });
  }

  /** One exchange; retried once on a fresh connection if the server had closed the old one. */
  async exchange(query: Uint8Array, timeoutMs = 2000): Promise<Uint8Array> {
    for (let attempt = 0; ; attempt++) {
      try {
        this.socket ??= await this.open();
        const socket = this.socket;
        return await new Promise<Uint8Array>((resolve, reject) => {
          const timer = setTimeout(() => {
            this.waiting = undefined;
            socket.destroy();
            reject(new Error(`no TCP reply from ${this.server.address}:${this.server.port} in ${timeoutMs} ms`));
          }, timeoutMs);
          this.waiting = {
            resolve: (r) => (clearTimeout(timer), resolve(r)),
            reject: (e) => (clearTimeout(timer), reject(e)),
          };
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(query.length);
          socket.write(Buffer.concat([prefix, query]));
        });
      } catch (err) {
        if (attempt >= 1) throw err;
      }
    }
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}
