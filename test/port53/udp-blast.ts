/**
 * @module A bounded UDP flood for the RRL tests (`port53.test.ts`, `cookies.test.ts`): queries sent from one
 * socket of 127.0.0.1 in batches, then the replies gathered until they stop coming. It waits on the replies,
 * not on a guess of how long the service takes, so it holds on a slow machine too.
 */
import { createSocket } from "node:dgram";
import { decodeMessage, type Message } from "../../dns/message.ts";
import { waitFor } from "../transfer/service-under-test.ts";

/** Sends `wires` to 127.0.0.1:`port`, `perBatch` at a time every `gapMs`; resolves with every reply decoded. */
export async function blast(port: number, wires: Uint8Array[], perBatch = 10, gapMs = 20): Promise<Message[]> {
  const socket = createSocket("udp4");
  const replies: Message[] = [];
  socket.on("message", (msg) => replies.push(decodeMessage(new Uint8Array(msg))));
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", () => r()));
  try {
    for (let i = 0; i < wires.length; i += perBatch) {
      for (const w of wires.slice(i, i + perBatch)) socket.send(w, port, "127.0.0.1");
      await new Promise((r) => setTimeout(r, gapMs));
    }
    // Until the replies stop coming (compared from one poll of waitFor to the next), bounded.
    let last = -1;
    await waitFor("the replies to stop coming", () => {
      const settled = replies.length === last;
      last = replies.length;
      return settled;
    }, 30_000);
    return replies;
  } finally {
    socket.close();
  }
}
