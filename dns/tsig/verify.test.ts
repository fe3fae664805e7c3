/**
 * Sign → verify tables: every algorithm with both HMAC providers, tampering, truncation (RFC 8945
 * §5.2.2.1), the fudge window, key-name case, wrong keys, and the TCP stream rules of §5.3.1.
 */
import { describe, expect, it } from "vitest";
import { RRType, Rcode } from "../constants.ts";
import { nodeHmac } from "../hmac.node.ts";
import { Name } from "../name.ts";
import type { HmacProvider, TsigAlgorithm, TsigKey } from "../tsig.ts";
import {
  TSIG_ALGORITHMS,
  TsigError,
  TsigStreamSigner,
  TsigStreamVerifier,
  findTsig,
  prepareTsigKey,
  signRequest,
  signResponse,
  tsigErrorResponse,
  verifyRequest,
  verifyResponse,
  webCryptoHmac,
} from "../tsig.ts";
import { aRecord, buildMessage, fixedClock, soaRecord } from "./testing.ts";

const T0 = 1_700_000_000;
const now = fixedClock(T0);
const SECRET = "c2VjcmV0LW9mLXRoZS10c2lnLXVuaXQtdGVzdHMtMDEyMzQ1Njc4OWFi";
const OTHER_SECRET = "YW5vdGhlci1zZWNyZXQtZm9yLXRoZS11bml0LXRlc3RzLTAxMjM0NTY3";

const key = (algorithm: string, opts: { name?: string; secret?: string; provider?: HmacProvider } = {}) =>
  prepareTsigKey({ name: opts.name ?? "xfr.example.", algorithm, secret: opts.secret ?? SECRET }, opts.provider ?? nodeHmac);

const query = () => buildMessage({ id: 0x1234, flags: 0, question: { name: "example.com", type: RRType.SOA } });
const answer = (id = 0x1234) =>
  buildMessage({
    id,
    flags: 0x8400,
    question: { name: "example.com", type: RRType.SOA },
    answers: [soaRecord("example.com", "ns.example.com", "admin.example.com", 2024010101, [3600, 600, 86400, 300])],
  });

/** A failure as a plain object, for `toMatchObject`. */
async function failure(p: Promise<unknown>): Promise<TsigError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TsigError);
  return err as TsigError;
}

const webCryptoAlgorithms: TsigAlgorithm[] = ["hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"];

describe("round trips", () => {
  const rows = [
    ...TSIG_ALGORITHMS.map((algorithm) => ({ algorithm, provider: "node" as const })),
    ...webCryptoAlgorithms.map((algorithm) => ({ algorithm, provider: "webcrypto" as const })),
  ];
  it.each(rows)("$algorithm with $provider: request, response, and the other provider agrees", async ({ algorithm, provider }) => {
    const hmac = provider === "node" ? nodeHmac : webCryptoHmac;
    const k = await key(algorithm, { provider: hmac });
    const req = await signRequest(query(), k, { now });
    expect(req.mac.length).toBe(k.hmac.size);
    const verified = (await verifyRequest(req.message, [k], { now }))!;
    expect(verified.key).toBe(k);
    const resp = await signResponse(answer(), k, verified.mac, { now });
    const rec = await verifyResponse(resp, k, req.mac, { now });
    expect(rec.keyName.equals(k.name)).toBe(true);
    // The same answer signed from the VerifiedRequest: same key, same MAC input, same bytes.
    expect(await signResponse(answer(), verified, { now })).toEqual(resp);
    // The same MAC from the other provider, where both implement the algorithm.
    if (webCryptoAlgorithms.includes(algorithm)) {
      const other = await key(algorithm, { provider: provider === "node" ? webCryptoHmac : nodeHmac });
      await verifyRequest(req.message, [other], { now });
      await verifyResponse(resp, other, req.mac, { now });
    }
  });

  it("Web Crypto refuses hmac-md5 and hmac-sha224 with a typed error", async () => {
    for (const algorithm of ["hmac-md5", "hmac-sha224"]) {
      const err = await failure(key(algorithm, { provider: webCryptoHmac }));
      expect(err.code).toBe("unsupported-algorithm");
      expect(err.message).toContain(algorithm);
    }
  });

  it("answers in the request's spelling of the key name when given the VerifiedRequest", async () => {
    const ours = await key("hmac-sha256", { name: "xfr.example." });
    const theirs = await key("hmac-sha256", { name: "XFR.Example." });
    const req = await signRequest(query(), theirs, { now });
    const verified = (await verifyRequest(req.message, [ours], { now }))!;
    const resp = await signResponse(answer(), verified, { now });
    expect(findTsig(resp)!.record.keyName.toString()).toBe("XFR.Example.");
    await verifyResponse(resp, theirs, req.mac, { now });
  });

  it("keeps the original ID in the MAC when a forwarder changes the header ID", async () => {
    const k = await key("hmac-sha256");
    const req = await signRequest(query(), k, { now });
    const forwarded = req.message.slice();
    forwarded[0] = 0xbe;
    forwarded[1] = 0xef;
    expect((await verifyRequest(forwarded, [k], { now }))!.record.originalId).toBe(0x1234);
  });
});

describe("key names and algorithms", () => {
  it.each([
    { signer: "XFR.Example.", verifier: "xfr.example." },
    { signer: "xfr.example.", verifier: "XFR.EXAMPLE." },
    { signer: "Xfr.Example", verifier: "xfr.example" },
  ])("key name $signer verifies against $verifier (case-insensitive, RFC 8945 §4.3.3)", async ({ signer, verifier }) => {
    const req = await signRequest(query(), await key("hmac-sha256", { name: signer }), { now });
    await verifyRequest(req.message, [await key("hmac-sha256", { name: verifier })], { now });
  });

  it.each([
    { case: "unknown key name", signer: { name: "other.example." }, code: "unknown-key", answer: Rcode.BADKEY, text: /"other\.example\." is not known/ },
    { case: "same name, other algorithm", signer: { algorithm: "hmac-sha1" }, code: "algorithm-mismatch", answer: Rcode.BADKEY, text: /uses hmac-sha1, we use hmac-sha256/ },
    { case: "wrong secret", signer: { secret: OTHER_SECRET }, code: "bad-mac", answer: Rcode.BADSIG, text: /shared secrets differ/ },
  ])("server side: $case → $code", async ({ signer, code, answer: tsigError, text }) => {
    const ours = await key("hmac-sha256");
    const theirs = await key(signer.algorithm ?? "hmac-sha256", { name: signer.name, secret: signer.secret });
    const req = await signRequest(query(), theirs, { now });
    const err = await failure(verifyRequest(req.message, [ours], { now }));
    expect(err).toMatchObject({ code, tsigError });
    expect(err.message).toMatch(text);
    expect(err.message).not.toContain(SECRET);
  });

  it("a keyring may be a lookup function", async () => {
    const k = await key("hmac-sha512");
    const req = await signRequest(query(), k, { now });
    const seen: string[] = [];
    await verifyRequest(req.message, (name: Name) => (seen.push(name.toString()), name.equals(Name.parse("XFR.example.")) ? k : undefined), { now });
    expect(seen).toEqual(["xfr.example."]);
  });

  it("an unsigned request verifies as undefined (the caller decides)", async () => {
    expect(await verifyRequest(query(), [await key("hmac-sha256")], { now })).toBeUndefined();
  });
});

describe("tampering", () => {
  // Offsets into a signed SOA answer; every one of them must change the verdict.
  it.each([
    { part: "header flags", at: () => 2 },
    { part: "ANCOUNT", at: () => 7, code: ["malformed", "bad-mac"] },
    { part: "question name", at: () => 13 },
    { part: "answer RDATA (serial)", at: (m: Uint8Array) => findTsig(m)!.offset - 20 },
    { part: "TSIG key name", at: (m: Uint8Array) => findTsig(m)!.offset + 1, code: ["unknown-key"] },
    // Owner (13) + TYPE, CLASS, TTL, RDLENGTH (10) + algorithm name hmac-sha256. (13) = 36.
    { part: "TSIG Time Signed", at: (m: Uint8Array) => findTsig(m)!.offset + 36 + 5 },
    { part: "TSIG Fudge", at: (m: Uint8Array) => findTsig(m)!.offset + 36 + 7 },
    { part: "TSIG MAC", at: (m: Uint8Array) => findTsig(m)!.offset + 36 + 10 + 3 },
    { part: "TSIG algorithm name", at: (m: Uint8Array) => findTsig(m)!.offset + 23 + 5, code: ["algorithm-mismatch"] },
    { part: "TSIG Other Len", at: (m: Uint8Array) => m.length - 1, code: ["malformed"] },
  ])("a flipped bit in the $part is detected", async ({ at, code }) => {
    const k = await key("hmac-sha256");
    const req = await signRequest(query(), k, { now });
    const resp = await signResponse(answer(), k, req.mac, { now });
    expect(findTsig(resp)!.record.keyName.toString()).toBe("xfr.example."); // 13 octets on the wire
    const tampered = resp.slice();
    tampered[at(resp)] ^= 0x01;
    const err = await failure(verifyResponse(tampered, k, req.mac, { now }));
    expect(code ?? ["bad-mac"]).toContain(err.code);
  });

  it("every single-bit flip in a signed response is caught, except the header ID and case in TSIG names", async () => {
    const k = await key("hmac-sha256");
    const req = await signRequest(query(), k, { now });
    const resp = await signResponse(answer(), k, req.mac, { now });
    const at = findTsig(resp)!.offset;
    // The owner (key name, 13 octets) and the algorithm name (13 octets, after TYPE..RDLENGTH).
    const tsigNames = new Set([...Array(13).keys()].flatMap((i) => [at + i, at + 23 + i]));
    const isLetter = (b: number) => (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a;
    let accepted = 0;
    for (let i = 0; i < resp.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const tampered = resp.slice();
        tampered[i] ^= 1 << bit;
        const outcome = await verifyResponse(tampered, k, req.mac, { now }).then(
          () => "accepted",
          (e: unknown) => (e instanceof TsigError ? "rejected" : e),
        );
        // RFC 8945 §4.3.3: names enter the MAC lowercased, so a case flip in them is the same message;
        // the MAC covers the Original ID, not the header's (a forwarder may change it, §4.3.1).
        const allowed = i < 2 || (bit === 5 && tsigNames.has(i) && isLetter(resp[i]!));
        expect(outcome, `octet ${i} bit ${bit}`).toBe(allowed ? "accepted" : "rejected");
        if (allowed) accepted++;
      }
    }
    expect(accepted).toBeGreaterThan(16 + 10);
  });

  it("a response verified against another request's MAC fails", async () => {
    const k = await key("hmac-sha256");
    const req1 = await signRequest(query(), k, { now });
    const req2 = await signRequest(query(), k, { now: fixedClock(T0 + 1) });
    const resp = await signResponse(answer(), k, req1.mac, { now });
    expect((await failure(verifyResponse(resp, k, req2.mac, { now }))).code).toBe("bad-mac");
  });
});

describe("MAC truncation (RFC 8945 §5.2.2.1)", () => {
  // hmac-sha256: 32 octets; the minimum is max(10, 16) = 16. hmac-md5: 16 octets; minimum 10.
  it.each([
    { algorithm: "hmac-sha256", size: 32, ok: true },
    { algorithm: "hmac-sha256", size: 16, ok: true },
    { algorithm: "hmac-sha256", size: 15, answer: Rcode.FORMERR },
    { algorithm: "hmac-sha256", size: 33, answer: Rcode.FORMERR },
    { algorithm: "hmac-md5", size: 10, ok: true },
    { algorithm: "hmac-md5", size: 9, answer: Rcode.FORMERR },
    { algorithm: "hmac-sha1", size: 10, ok: true },
    { algorithm: "hmac-sha512", size: 32, ok: true },
    { algorithm: "hmac-sha512", size: 31, answer: Rcode.FORMERR },
    { algorithm: "hmac-sha256", size: 20, policy: 24, answer: Rcode.BADTRUNC },
    { algorithm: "hmac-sha256", size: 24, policy: 24, ok: true },
  ])("$algorithm MAC of $size octets (policy $policy) → ok=$ok answer=$answer", async ({ algorithm, size, ok, answer: code, policy }) => {
    const k = await key(algorithm);
    const req = await signRequest(query(), k, { now });
    // Re-cut the MAC by hand, so sizes the signer refuses can be sent too.
    const loc = findTsig(req.message)!;
    const rec = { ...loc.record, mac: new Uint8Array(size) };
    rec.mac.set(loc.record.mac.subarray(0, Math.min(size, loc.record.mac.length)));
    const { writeTsigRecord } = await import("./record.ts");
    const { WireWriter } = await import("../wire/writer.ts");
    const w = new WireWriter();
    w.bytes(req.message.subarray(0, loc.offset));
    writeTsigRecord(w, rec);
    const wire = w.finish();
    const result = verifyRequest(wire, [k], { now, minMacSize: policy });
    if (ok) {
      expect((await result)!.mac.length).toBe(size);
    } else {
      const err = await failure(result);
      expect(err).toMatchObject({ code: "bad-truncation", tsigError: code });
    }
  });

  it("signs truncated MACs that verify, and refuses to sign sizes the RFC forbids", async () => {
    const k = await key("hmac-sha384");
    const req = await signRequest(query(), k, { now, macSize: 24 });
    expect(req.mac.length).toBe(24);
    await verifyRequest(req.message, [k], { now });
    const resp = await signResponse(answer(), k, req.mac, { now, macSize: 24 });
    await verifyResponse(resp, k, req.mac, { now });
    expect((await failure(signRequest(query(), k, { now, macSize: 23 }))).code).toBe("bad-truncation");
    expect((await failure(signRequest(query(), k, { now, macSize: 49 }))).code).toBe("bad-truncation");
  });
});

describe("time (RFC 8945 §5.2.3)", () => {
  it.each([
    { skew: 0, ok: true },
    { skew: 300, ok: true },
    { skew: -300, ok: true },
    { skew: 301, ok: false },
    { skew: -301, ok: false },
    { skew: 600, ok: false },
    { skew: 30, fudge: 10, ok: false },
  ])("signer's clock off by $skew s, fudge $fudge → ok=$ok", async ({ skew, fudge, ok }) => {
    const k = await key("hmac-sha256");
    const req = await signRequest(query(), k, { now: fixedClock(T0 + skew), fudge });
    const result = verifyRequest(req.message, [k], { now });
    if (ok) await result;
    else {
      const err = await failure(result);
      expect(err).toMatchObject({ code: "clock-skew", tsigError: Rcode.BADTIME, details: { skewSeconds: skew } });
      expect(err.message).toContain(`clock skew of ${Math.abs(skew)} seconds`);
    }
  });

  it("checks the time after the MAC: a forged time with a bad MAC is BADSIG, not BADTIME", async () => {
    const ours = await key("hmac-sha256");
    const theirs = await key("hmac-sha256", { secret: OTHER_SECRET });
    const req = await signRequest(query(), theirs, { now: fixedClock(T0 + 3600) });
    expect((await failure(verifyRequest(req.message, [ours], { now }))).code).toBe("bad-mac");
  });

  it("refuses a request signed before one already accepted with the same key (§5.2.3 replay guard)", async () => {
    const k = await key("hmac-sha256");
    const lastTimeSigned = new Map<string, number>();
    const older = await signRequest(query(), k, { now: fixedClock(T0 - 10) });
    const newer = await signRequest(query(), await key("hmac-sha256", { name: "XFR.example." }), { now: fixedClock(T0) });
    await verifyRequest(newer.message, [k], { now, lastTimeSigned });
    await verifyRequest(newer.message, [k], { now, lastTimeSigned }); // the same second again is fine
    const err = await failure(verifyRequest(older.message, [k], { now, lastTimeSigned }));
    expect(err).toMatchObject({ code: "clock-skew", tsigError: Rcode.BADTIME, details: { skewSeconds: -10 } });
    expect(err.message).toMatch(/signed 10 seconds before one already accepted/);
    // Other keys keep their own clocks.
    const other = await key("hmac-sha256", { name: "other.example." });
    await verifyRequest((await signRequest(query(), other, { now: fixedClock(T0 - 20) })).message, [k, other], { now, lastTimeSigned });
    expect([...lastTimeSigned.keys()].sort()).toEqual(["other.example.", "xfr.example."]);
  });

  it("writes 48-bit times beyond 2106", async () => {
    const k = await key("hmac-sha256");
    const far = 2 ** 32 + 12345;
    const req = await signRequest(query(), k, { now: fixedClock(far) });
    expect((await verifyRequest(req.message, [k], { now: fixedClock(far) }))!.record.timeSigned).toBe(far);
  });
});

/** An AXFR-like stream of `count` messages, each with a few A records. */
function stream(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) =>
    buildMessage({
      id: 0x4242,
      flags: 0x8400,
      question: i === 0 ? { name: "example.com", type: RRType.AXFR } : undefined,
      answers: [0, 1, 2].map((j) => aRecord(`h${i}-${j}.example.com`, `10.0.${i % 256}.${j}`)),
    }),
  );
}

async function signStream(k: TsigKey, requestMac: Uint8Array, messages: Uint8Array[], plan: (i: number, last: boolean) => boolean) {
  const signer = new TsigStreamSigner(k, requestMac, { now });
  const out: Uint8Array[] = [];
  for (let i = 0; i < messages.length; i++) {
    out.push(await signer.next(messages[i]!, { sign: plan(i, i === messages.length - 1) }));
  }
  return out;
}

async function verifyStream(k: TsigKey, requestMac: Uint8Array, messages: Uint8Array[]) {
  const verifier = new TsigStreamVerifier(k, requestMac, { now, peer: "the primary" });
  let signed = 0;
  for (const m of messages) if (await verifier.next(m)) signed++;
  verifier.finish();
  return signed;
}

describe("TCP streams (RFC 8945 §5.3.1)", () => {
  it.each([
    { every: 1, count: 5, signed: 5 },
    { every: 3, count: 10, signed: 4 }, // 0, 3, 6, 9 (the last)
    { every: 3, count: 9, signed: 4 }, // 0, 3, 6, and the last (8)
    { every: 100, count: 250, signed: 4 }, // 0, 100, 200, 249
    { every: 96, count: 200, signed: 4 }, // NSD's rhythm: 0, 96, 192, 199
  ])("signing every $every of $count messages verifies ($signed signed)", async ({ every, count, signed }) => {
    const k = await key("hmac-sha256");
    const req = await signRequest(query(), k, { now });
    const signer = new TsigStreamSigner(k, req.mac, { now, signEvery: every });
    const msgs = stream(count);
    const wire: Uint8Array[] = [];
    for (let i = 0; i < count; i++) wire.push(await signer.next(msgs[i]!, { last: i === count - 1 }));
    expect(await verifyStream(k, req.mac, wire)).toBe(signed);
  });

  it.each([
    { case: "first message unsigned", plan: (i: number) => i !== 0, count: 3, code: "unsigned", index: 0 },
    { case: "last message unsigned", plan: (i: number, last: boolean) => !last, count: 3, code: "unsigned-final", index: 2 },
    { case: "100 unsigned in a row", plan: (i: number, last: boolean) => i === 0 || last, count: 102, code: "too-many-unsigned", index: 100 },
  ])("$case → $code", async ({ plan, count, code, index }) => {
    const k = await key("hmac-sha256");
    const req = await signRequest(query(), k, { now });
    const wire = await signStream(k, req.mac, stream(count), plan);
    const err = await failure(verifyStream(k, req.mac, wire));
    expect(err).toMatchObject({ code, details: { messageIndex: index } });
    expect(err.message).toContain("the primary");
  });

  it("99 unsigned in a row are allowed", async () => {
    const k = await key("hmac-sha256");
    const req = await signRequest(query(), k, { now });
    const wire = await signStream(k, req.mac, stream(101), (i, last) => i === 0 || last);
    expect(await verifyStream(k, req.mac, wire)).toBe(2);
  });

  it.each([
    { case: "a signed message", count: 8, every: 1, victim: 3 },
    { case: "an unsigned message (its bytes enter the next MAC)", count: 8, every: 4, victim: 2 },
    { case: "the last message", count: 8, every: 4, victim: 7 },
    { case: "the first message", count: 8, every: 4, victim: 0 },
  ])("tampering with $case is detected at the next signed message", async ({ count, every, victim }) => {
    const k = await key("hmac-sha256");
    const req = await signRequest(query(), k, { now });
    const signer = new TsigStreamSigner(k, req.mac, { now, signEvery: every });
    const msgs = stream(count);
    const wire: Uint8Array[] = [];
    for (let i = 0; i < count; i++) wire.push(await signer.next(msgs[i]!, { last: i === count - 1 }));
    const tampered = wire.map((m) => m.slice());
    tampered[victim]![40] ^= 0x01;
    const err = await failure(verifyStream(k, req.mac, tampered));
    expect(err.code).toBe("bad-mac");
    // Found at the victim if it was signed, else at the next signed one.
    const expected = victim % every === 0 || victim === count - 1 ? victim : Math.min(count - 1, Math.ceil(victim / every) * every);
    expect(err.details.messageIndex).toBe(expected);
  });

  it("verifies the same with the offsets a decoder found, and catches a lying decoder", async () => {
    const k = await key("hmac-sha256");
    const req = await signRequest(query(), k, { now });
    const signer = new TsigStreamSigner(k, req.mac, { now, signEvery: 3 });
    const msgs = stream(7);
    const wire: Uint8Array[] = [];
    for (let i = 0; i < msgs.length; i++) wire.push(await signer.next(msgs[i]!, { last: i === msgs.length - 1 }));
    const offsets = wire.map((m) => findTsig(m)?.offset ?? null);
    const v = new TsigStreamVerifier(k, req.mac, { now });
    for (let i = 0; i < wire.length; i++) await v.next(wire[i]!, offsets[i]);
    v.finish();
    // A decoder that says "no TSIG" for a signed message: its bytes then count as unsigned (TSIG record
    // included), and the next signed message's MAC cannot match.
    const lied = new TsigStreamVerifier(k, req.mac, { now });
    await lied.next(wire[0]!, offsets[0]);
    await lied.next(wire[1]!, offsets[1]);
    await lied.next(wire[2]!, offsets[2]);
    await lied.next(wire[3]!, null);
    await expect(lied.next(wire[6]!, offsets[6])).rejects.toMatchObject({ code: "bad-mac" });
  });

  it("reordered messages fail", async () => {
    const k = await key("hmac-sha256");
    const req = await signRequest(query(), k, { now });
    const wire = await signStream(k, req.mac, stream(4), () => true);
    [wire[1], wire[2]] = [wire[2]!, wire[1]!];
    expect((await failure(verifyStream(k, req.mac, wire))).details.messageIndex).toBe(1);
  });

  it("an empty stream is an error", async () => {
    const k = await key("hmac-sha256");
    const v = new TsigStreamVerifier(k, new Uint8Array(32));
    expect(() => v.finish()).toThrow(TsigError);
  });
});

describe("the server's error answers, as the client reads them", () => {
  it.each([
    { case: "unknown key", serverKey: { name: "other.example." }, peerError: Rcode.BADKEY, signed: false, text: /rejected TSIG key "xfr\.example\." with hmac-sha256 \(BADKEY\)/ },
    { case: "algorithm mismatch", serverKey: { algorithm: "hmac-sha512" }, peerError: Rcode.BADKEY, signed: false, text: /BADKEY/ },
    { case: "wrong secret", serverKey: { secret: OTHER_SECRET }, peerError: Rcode.BADSIG, signed: false, text: /could not verify our TSIG signature .*BADSIG.*secrets differ/ },
    { case: "client clock 10 minutes fast", serverKey: {}, clientSkew: 600, peerError: Rcode.BADTIME, signed: true, text: /clock skew of 600 seconds/ },
  ])("$case → peer-error $peerError", async ({ serverKey, clientSkew, peerError, signed, text }) => {
    const client = await key("hmac-sha256");
    const server = await key(serverKey.algorithm ?? "hmac-sha256", { name: serverKey.name, secret: serverKey.secret });
    const clientNow = fixedClock(T0 + (clientSkew ?? 0));
    const req = await signRequest(query(), client, { now: clientNow });
    const serverErr = await failure(verifyRequest(req.message, [server], { now }));
    const reply = (await tsigErrorResponse(req.message, serverErr, { key: serverErr.code === "clock-skew" ? server : undefined, now }))!;
    expect(reply[3]! & 0x0f).toBe(Rcode.NOTAUTH);
    const rec = findTsig(reply)!.record;
    expect(rec.error).toBe(peerError);
    expect(rec.mac.length > 0).toBe(signed);
    const err = await failure(verifyResponse(reply, client, req.mac, { now: clientNow }));
    expect(err).toMatchObject({ code: "peer-error", details: { peerError, peerRcode: Rcode.NOTAUTH } });
    expect(err.message).toMatch(text);
    if (clientSkew) expect(err.details.skewSeconds).toBe(-clientSkew);
  });

  it("a MAC truncated below local policy gets a signed BADTRUNC (RFC 8945 §5.2.4)", async () => {
    const k = await key("hmac-sha256");
    const req = await signRequest(query(), k, { now, macSize: 16 });
    const serverErr = await failure(verifyRequest(req.message, [k], { now, minMacSize: 32 }));
    expect(serverErr).toMatchObject({ code: "bad-truncation", tsigError: Rcode.BADTRUNC });
    const reply = (await tsigErrorResponse(req.message, serverErr, { key: k, now }))!;
    const rec = findTsig(reply)!.record;
    expect(rec).toMatchObject({ error: Rcode.BADTRUNC });
    expect(rec.mac.length).toBe(32);
    const err = await failure(verifyResponse(reply, k, req.mac, { now }));
    expect(err).toMatchObject({ code: "peer-error", details: { peerError: Rcode.BADTRUNC } });
    expect(err.message).toContain("BADTRUNC");
  });

  it("a request with an unreadable TSIG gets FORMERR and no TSIG", async () => {
    const k = await key("hmac-sha256");
    const req = await signRequest(query(), k, { now });
    const broken = req.message.slice(0, -1);
    const err = await failure(verifyRequest(broken, [k], { now }));
    expect(err.code).toBe("malformed");
    const reply = (await tsigErrorResponse(broken, err, { now }))!;
    expect(reply[3]! & 0x0f).toBe(Rcode.FORMERR);
    expect(findTsig(reply)).toBeUndefined();
  });

  it("an unsigned NOTAUTH/REFUSED answer to a signed request is reported with its RCODE", async () => {
    const k = await key("hmac-sha256");
    const req = await signRequest(query(), k, { now });
    const refused = buildMessage({ id: 0x1234, flags: 0x8005, question: { name: "example.com", type: RRType.SOA } });
    const err = await failure(verifyResponse(refused, k, req.mac, { now }));
    expect(err).toMatchObject({ code: "unsigned", details: { peerRcode: Rcode.REFUSED } });
    expect(err.message).toContain("REFUSED");
  });
});
