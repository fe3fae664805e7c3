/**
 * @module A webhook receiver for the alert tests: a plain HTTP server on 127.0.0.1 that checks each request's
 * `X-Backstop-Signature` against the shared secret (HMAC-SHA256 of the raw body, as a receiver in the field
 * would), records it, and answers 500 to the first attempt of each delivery when asked to, so the sender's
 * retry is seen.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  at: number;
  body: string;
  json: Record<string, unknown>;
  signatureValid: boolean;
  timestamp: number;
  /** What the receiver answered. */
  status: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

export async function startReceiver(secret: string, options: { failFirstAttempt?: boolean } = {}): Promise<Receiver> {
  const received: Received[] = [];
  const seenDeliveries = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(body).digest("hex")}`);
      const given = Buffer.from(String(req.headers["x-backstop-signature"] ?? ""));
      const signatureValid = given.length === expected.length && timingSafeEqual(given, expected);
      const json = JSON.parse(body) as Record<string, unknown>;
      // A JSON delivery names itself; a Slack one is its text.
      const id = String(json.deliveryId ?? json.text);
      let status = signatureValid ? 200 : 401;
      if (signatureValid && options.failFirstAttempt && !seenDeliveries.has(id)) status = 500;
      seenDeliveries.add(id);
      received.push({ at: Date.now(), body, json, signatureValid, timestamp: Number(req.headers["x-backstop-timestamp"]), status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
