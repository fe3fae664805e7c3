/**
 * The NSEC3 hash (RFC 5155 §5) against RFC 5155 Appendix A's hashed owners (salt aabbccdd, 12 iterations), with
 * both SHA-1s the engine can be given: Web Crypto's (the Worker's, a promise) and Node's (the front's, a value).
 * BIND's `nsec3hash` checks more names and parameters in test/answer/nsec3-hash.test.ts.
 */
import { describe, expect, it } from "vitest";
import { Name } from "../dns/name.ts";
import { nodeSha1 } from "../dns/sha1.node.ts";
import { isPromise } from "./awaitable.ts";
import { hashedOwner, type Nsec3Params, webSha1 } from "./nsec3-hash.ts";

const PARAMS: Nsec3Params = { algorithm: 1, flags: 0, iterations: 12, salt: Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd) };

/** RFC 5155 Appendix A: owner → the first label of its NSEC3 owner. */
const APPENDIX_A: Array<[string, string]> = [
  ["example.", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"],
  ["a.example.", "35mthgpgcu1qg68fab165klnsnk3dpvl"],
  ["ai.example.", "gjeqe526plbf1g8mklp59enfd789njgi"],
  ["ns1.example.", "2t7b4g4vsa5smi47k61mv5bv1a22bojr"],
  ["ns2.example.", "q04jkcevqvmu85r014c7dkba38o0ji5r"],
  ["w.example.", "k8udemvp1j2f7eg6jebps17vp3n8i58h"],
  ["*.w.example.", "r53bq7cc2uvmubfu5ocmm6pers9tk9en"],
  ["x.w.example.", "b4um86eghhds6nea196smvmlo4ors995"],
  ["y.w.example.", "ji6neoaepv8b5o6k4ev33abha8ht9fgc"],
  ["x.y.w.example.", "2vptu5timamqttgl4luu9kg21e0aor3s"],
  ["xx.example.", "t644ebqk9bibcna874givr6joj62mlhv"],
];

const APEX = Name.parse("example.");

describe("nsec3-hash.ts: RFC 5155 Appendix A", () => {
  it.each(APPENDIX_A)("%s with Web Crypto's SHA-1 (a promise)", async (name, label) => {
    const owner = hashedOwner(Name.parse(name), APEX, PARAMS, webSha1);
    expect(isPromise(owner)).toBe(true);
    expect((await owner).toString()).toBe(`${label}.example.`);
  });

  it.each(APPENDIX_A)("%s with Node's SHA-1 (a value, in the same call)", (name, label) => {
    const owner = hashedOwner(Name.parse(name), APEX, PARAMS, nodeSha1);
    expect(isPromise(owner)).toBe(false);
    expect((owner as Name).toString()).toBe(`${label}.example.`);
  });

  it("a SHA-1 that answers at once for some inputs and later for others gives the same hash (the loop resumes)", async () => {
    let calls = 0;
    const mixed = (data: Uint8Array<ArrayBuffer>) => (calls++ % 3 === 1 ? webSha1(data) : nodeSha1(data));
    for (const [name, label] of APPENDIX_A) {
      expect((await hashedOwner(Name.parse(name), APEX, PARAMS, mixed)).toString()).toBe(`${label}.example.`);
    }
    expect(calls).toBe(APPENDIX_A.length * (PARAMS.iterations + 1));
  });
});
