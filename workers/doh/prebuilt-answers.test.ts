/**
 * The prebuilt responses' own rules (`prebuilt-answers.ts`), apart from the handler: served only at the epoch
 * they were kept at, before their zones expire, with the same NSID setting and to a request without a token;
 * kept only when the epoch did not move during the answer; bounded, the oldest going first.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Name } from "../../dns/name.ts";
import type { ZoneInfo } from "../../answer/zone-store.ts";
import type { Env } from "../env.d.ts";
import { PrebuiltAnswers } from "./prebuilt-answers.ts";

const zone = (expiresAt: number | null): ZoneInfo => ({ id: 1, name: Name.parse("example."), model: "secondary", version: 3, expiresAt, answerAllow: [] });
const HEADERS: [string, string][] = [
  ["content-type", "application/dns-message"],
  ["content-length", "3"],
  ["cache-control", "max-age=60"],
];
const url = (n: number) => `http://backstop.test/dns-query?dns=${n}`;

describe("PrebuiltAnswers", () => {
  it("serves the kept octets and headers while the epoch, the clock and NSID allow, and never to a token", async () => {
    let epoch: number | undefined = 7;
    let clock = 1000;
    const table = new PrebuiltAnswers({ epoch: () => epoch, now: () => clock });
    const body = Uint8Array.of(1, 2, 3);
    table.keep(url(1), env, 7, body, HEADERS, [zone(2000), zone(null)]);
    body[0] = 9; // the table keeps its own copy
    const res = table.response(new Request(url(1)), env, url(1))!;
    expect([...new Uint8Array(await res.arrayBuffer())]).toEqual([1, 2, 3]);
    expect([...res.headers]).toEqual([...new Headers(HEADERS)]);
    expect(table.response(new Request(url(2)), env, url(2))).toBeUndefined();
    expect(table.response(new Request(url(1), { headers: { authorization: "Bearer x" } }), env, url(1))).toBeUndefined();
    expect(table.response(new Request(url(1)), { ...env, NSID: "other" } as Env, url(1))).toBeUndefined();
    clock = 2001; // past the earliest expiry of its zones
    expect(table.response(new Request(url(1)), env, url(1))).toBeUndefined();
    clock = 1000;
    epoch = 8; // a change applied
    expect(table.response(new Request(url(1)), env, url(1))).toBeUndefined();
    epoch = undefined; // pointers stale
    expect(table.response(new Request(url(1)), env, url(1))).toBeUndefined();
    expect(table.hits).toBe(1);
  });

  it("keeps nothing when the epoch moved during the answer", () => {
    const table = new PrebuiltAnswers({ epoch: () => 5, now: () => 0 });
    table.keep(url(1), env, 4, Uint8Array.of(1), HEADERS, []);
    expect(table.size).toBe(0);
  });

  it("holds at most maxEntries, dropping the oldest", () => {
    const table = new PrebuiltAnswers({ epoch: () => 1, now: () => 0, maxEntries: 2 });
    for (const n of [1, 2, 3]) table.keep(url(n), env, 1, Uint8Array.of(n), HEADERS, []);
    expect(table.size).toBe(2);
    expect(table.response(new Request(url(1)), env, url(1))).toBeUndefined();
    expect(table.response(new Request(url(3)), env, url(3))).toBeDefined();
  });
});
