/**
 * @module Logs never carry secrets: pino's redaction and `scrubSecrets`, checked on the JSON lines written.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, scrubSecrets } from "./log.ts";

const SECRET = "c2VjcmV0LW1hdGVyaWFsLXRoYXQtbXVzdC1ub3QtbGVhaw==";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: createLogger({ level: "info", destination }), lines };
}

describe("createLogger", () => {
  it.each([
    { name: "a top-level secret", fields: { secret: SECRET } },
    { name: "a token", fields: { token: SECRET } },
    { name: "the internal token", fields: { internalToken: SECRET } },
    { name: "a key's secret one level down", fields: { key: { name: "k", algorithm: "hmac-sha256", secret: SECRET } } },
    { name: "a zone's key list, three levels down", fields: { zone: { keys: { main: { secret: SECRET } } } } },
    { name: "an authorization header", fields: { headers: { authorization: `Bearer ${SECRET}` } } },
  ])("censors $name", ({ fields }) => {
    const { log, lines } = capture();
    log.info(fields, "something happened");
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(SECRET);
    expect(lines[0]).toContain("[redacted]");
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "info", msg: "something happened" });
  });
});

describe("scrubSecrets", () => {
  it("censors secret fields at any depth, and in arrays", () => {
    const value = { zones: [{ name: "a", keys: [{ name: "k", secret: SECRET }] }], deep: { a: { b: { c: { d: { Token: SECRET } } } } } };
    const text = JSON.stringify(scrubSecrets(value));
    expect(text).not.toContain(SECRET);
    expect(text).toContain('"name":"k"');
  });

  it("survives cycles and binary data", () => {
    const cyclic: Record<string, unknown> = { secret: SECRET, bytes: new Uint8Array(4) };
    cyclic.self = cyclic;
    const out = scrubSecrets(cyclic) as Record<string, unknown>;
    expect(out.secret).toBe("[redacted]");
    expect(out.bytes).toBe("<4 octets>");
  });
});
