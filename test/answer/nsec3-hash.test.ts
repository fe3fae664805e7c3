/**
 * The engine's NSEC3 hash (`answer/nsec3-hash.ts`, with Web Crypto's SHA-1 and with Node's synchronous one,
 * `dns/sha1.node.ts`) against BIND's `nsec3hash` for
 * names with mixed case, escapes and many labels, with and without salt, at several iteration counts
 * (RFC 5155 §5). The first row is RFC 5155 Appendix A's own example.
 */
import { describe, expect, it } from "vitest";
import { Name } from "../../dns/name.ts";
import { fromBase16 } from "../../dns/rdata/base16.ts";
import { hashedOwner, webSha1 } from "../../answer/nsec3-hash.ts";
import { nodeSha1 } from "../../dns/sha1.node.ts";
import { runToolOk } from "../peers/run-tool.ts";

const CASES: Array<{ name: string; salt: string; iterations: number }> = [
  { name: "example.", salt: "aabbccdd", iterations: 12 },
  { name: "a.example.", salt: "aabbccdd", iterations: 12 },
  { name: "*.w.example.", salt: "aabbccdd", iterations: 12 },
  { name: "WWW.Example.COM.", salt: "", iterations: 0 },
  { name: "ex\\.ample.com.", salt: "", iterations: 0 },
  { name: "sp\\032ace.diff.test.", salt: "00", iterations: 1 },
  { name: "a.b.c.d.e.f.g.diff.test.", salt: "0123456789abcdef0123456789abcdef", iterations: 5 },
  { name: "diff.test.", salt: "aabbccdd", iterations: 150 },
];

describe("NSEC3 hash equals BIND's nsec3hash", () => {
  it.each(CASES)("$name salt=$salt iterations=$iterations", async ({ name, salt, iterations }) => {
    const out = await runToolOk("nsec3hash", [salt === "" ? "-" : salt, "1", String(iterations), name]);
    const expected = out.trim().split(/\s+/)[0]!.toLowerCase();
    const params = { algorithm: 1, flags: 0, iterations, salt: fromBase16(salt) ?? new Uint8Array(0) };
    for (const sha1 of [webSha1, nodeSha1]) {
      const owner = await hashedOwner(Name.parse(name), Name.parse("zone."), params, sha1);
      expect(new TextDecoder().decode(owner.labels[0]), sha1.name).toBe(expected);
    }
  });
});
