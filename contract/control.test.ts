/**
 * @module The `/control/refresh` body both ways: what the Worker sends (its stored `Signal`) and what an
 * operator pokes by hand are read back as the same request, defaults filled in; a malformed body is
 * refused with an issue that names the field (the service answers 400 with it, `control-http.ts`).
 */
import { describe, expect, it } from "vitest";
import { ControlRefresh, type ControlRefreshBody } from "./control.ts";
import type { Signal } from "./internal-v1.ts";

const signal: Signal = { zone: "example.test", requestedAt: 1_700_000_000_000, force: "axfr", acceptLowerSerial: true };

describe("ControlRefresh", () => {
  it.each<[label: string, sent: ControlRefreshBody, read: ControlRefresh]>([
    ["the Worker's signal", signal, { ...signal, reason: "refresh" }],
    ["a signal without a forced transfer", { ...signal, force: null, acceptLowerSerial: false }, { ...signal, force: null, acceptLowerSerial: false, reason: "refresh" }],
    ["a webhook NOTIFY", { zone: "example.test", requestedAt: 5, reason: "notify" }, { zone: "example.test", requestedAt: 5, reason: "notify", acceptLowerSerial: false }],
    ["a poke by hand (the zone alone)", { zone: "example.test" }, { zone: "example.test", reason: "refresh", acceptLowerSerial: false }],
  ])("%s: written as JSON and read back, the request is the same", (_label, sent, read) => {
    expect(ControlRefresh.parse(JSON.parse(JSON.stringify(sent)))).toEqual(read);
  });

  it.each<[label: string, body: unknown, field: string]>([
    ["no zone", { requestedAt: 5 }, "zone"],
    ["an empty zone", { zone: "" }, "zone"],
    ["a zone name over 255 octets", { zone: "a".repeat(256) }, "zone"],
    ["a negative request time", { zone: "example.test", requestedAt: -1 }, "requestedAt"],
    ["a forced IXFR", { zone: "example.test", force: "ixfr" }, "force"],
    ["an unknown reason", { zone: "example.test", reason: "because" }, "reason"],
    ["a string for a flag", { zone: "example.test", acceptLowerSerial: "yes" }, "acceptLowerSerial"],
  ])("refuses %s, naming the field", (_label, body, field) => {
    const result = ControlRefresh.safeParse(body);
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path.join("."))).toEqual([field]);
  });
});
