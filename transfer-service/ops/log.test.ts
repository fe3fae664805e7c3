/**
 * @module Logs never carry secrets: pino's redaction and `scrubSecrets`, checked on the JSON lines written.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { duplicateKey } from "../testing/strict-json.ts";
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

describe("a line never carries a key twice", () => {
  function lines(level = "debug") {
    const out: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        out.push(...String(chunk).split("\n").filter(Boolean));
        done();
      },
    });
    return { log: createLogger({ level, destination, base: { service: "transfer-service", instance: "host-1" } }), out };
  }

  it("the strict reader finds a doubled key that JSON.parse keeps quiet about", () => {
    expect(duplicateKey('{"zone":"a","n":1}')).toBeUndefined();
    expect(duplicateKey('{"zone":"a","zone":"a"}')).toBe("zone");
    expect(duplicateKey('{"a":{"b":1,"c":{"b":2}},"d":[{"x":1},{"x":2}]}')).toBeUndefined();
    expect(duplicateKey('{"a":[{"x":1,"x":2}]}')).toBe("a.[].x");
    expect(duplicateKey('{"k\\"":"{\\"zone\\":1,","k\\"":2}')).toBe('k"');
    expect(() => duplicateKey('{"a":1,}')).toThrow();
  });

  it("a zone's child logger and a call that names the zone again write one zone", () => {
    const { log, out } = lines();
    const zoneLog = log.child({ part: "refresh" }).child({ zone: "example.test" });
    zoneLog.info({ zone: "example.test", serial: 7 }, "refresh run starts");
    zoneLog.warn({ instance: "host-1", service: "transfer-service", reason: "x" }, "again");
    expect(out).toHaveLength(2);
    for (const line of out) expect(duplicateKey(line), line).toBeUndefined();
    expect(JSON.parse(out[0]!)).toMatchObject({ zone: "example.test", part: "refresh", instance: "host-1", serial: 7, msg: "refresh run starts" });
    expect(JSON.parse(out[1]!)).toMatchObject({ instance: "host-1", service: "transfer-service", reason: "x" });
  });

  it("a different value under a bound key is kept, under `shadowed`", () => {
    const { log, out } = lines();
    log.child({ zone: "a.test" }).info({ zone: "b.test", level: 3, time: 1 }, "about another zone");
    expect(duplicateKey(out[0]!)).toBeUndefined();
    expect(JSON.parse(out[0]!)).toMatchObject({ zone: "a.test", level: "info", shadowed: { zone: "b.test", level: 3, time: 1 } });
  });

  it("a message alone, an error, and a level below the threshold are untouched", () => {
    const { log, out } = lines("info");
    log.info("plain");
    log.error(new Error("boom"), "failed");
    log.debug({ zone: "x" }, "not written");
    expect(out).toHaveLength(2);
    expect(JSON.parse(out[0]!)).toMatchObject({ msg: "plain", instance: "host-1" });
    expect(JSON.parse(out[1]!)).toMatchObject({ msg: "failed", err: { message: "boom" } });
  });
});
