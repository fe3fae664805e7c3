/**
 * @module Signing: requests, single responses, and multi-message TCP streams (RFC 8945 §4.3, §5.3.1).
 *
 * A signed message is the message as given with a TSIG record appended and ARCOUNT incremented; the
 * Original ID is the header's ID at signing time. Signing a stream goes like this:
 * 1. the first message is signed over the request MAC, the message and the full TSIG variables;
 * 2. a later message may go unsigned (at most 99 in a row), and is remembered;
 * 3. a later signed message covers the prior MAC, every unsigned message since, itself, and the timers
 *    only (Time Signed and Fudge);
 * 4. the last message is always signed.
 */
import { Rcode } from "../constants.ts";
import type { Name } from "../name.ts";
import { WireWriter } from "../wire/writer.ts";
import { algorithmInfo, minimumMacSize } from "./algorithm.ts";
import { macPrefix, tsigVariables } from "./digest.ts";
import { TsigError } from "./errors.ts";
import type { TsigKey } from "./key.ts";
import type { TsigRecord } from "./record.ts";
import { HEADER_LENGTH, findTsig, writeTsigRecord } from "./record.ts";
import type { Clock } from "./time.ts";
import { DEFAULT_FUDGE, nowSeconds } from "./time.ts";
import type { VerifiedRequest } from "./verify.ts";

export interface SignOptions {
  /** Clock for Time Signed. Default `Date.now`. */
  now?: Clock;
  /** Seconds of tolerated clock difference announced to the verifier. Default 300. */
  fudge?: number;
  /**
   * Send only the first `macSize` octets of the MAC (RFC 8945 §5.2.2.1). Must be at least
   * max(10, half the hash). Default: the full MAC.
   */
  macSize?: number;
  /**
   * The key name as written in the TSIG record. A response should repeat the request's spelling
   * (`VerifiedRequest.record.keyName`): kdig 3.2 compares key names case-sensitively and rejects an
   * answer signed with `Key.` to a query signed with `key.`. The MAC is the same either way.
   */
  keyName?: Name;
}

export interface SignedMessage {
  /** The message with its TSIG record. */
  message: Uint8Array;
  /** The MAC as sent (truncated if asked): the input of the response's, or the next message's, MAC. */
  mac: Uint8Array;
  record: TsigRecord;
}

/** Fields of the record that the caller chooses; the rest come from the key and the message. */
interface RecordFields {
  /** Default: the key's own name. */
  keyName?: Name;
  timeSigned: number;
  fudge: number;
  error: number;
  otherData: Uint8Array;
}

function checkMacSize(key: TsigKey, macSize: number | undefined): number {
  const full = key.hmac.size;
  if (macSize === undefined) return full;
  if (!Number.isInteger(macSize) || macSize > full || macSize < minimumMacSize(key.algorithm)) {
    throw new TsigError(
      "bad-truncation",
      `a ${key.algorithm} MAC may be truncated to ${minimumMacSize(key.algorithm)}..${full} octets, not ${macSize}`,
      { keyName: key.name.toString() },
    );
  }
  return macSize;
}

function messageId(message: Uint8Array): number {
  if (message.length < HEADER_LENGTH) throw new TsigError("malformed", "message shorter than its header");
  return (message[0]! << 8) | message[1]!;
}

/**
 * Appends a TSIG record. `before` are the digest parts that precede the message (request or prior MAC,
 * unsigned messages), `timersOnly` selects the variables. A MAC of `null` writes an empty MAC without
 * computing one (unsigned error responses, RFC 8945 §5.3.2).
 */
export async function appendTsig(
  message: Uint8Array,
  key: TsigKey,
  fields: RecordFields,
  digest: { before: readonly Uint8Array[]; timersOnly: boolean; macSize: number } | null,
): Promise<SignedMessage> {
  if (findTsig(message) !== undefined) throw new TsigError("malformed", "message already carries a TSIG record");
  const record: TsigRecord = {
    keyName: fields.keyName ?? key.name,
    algorithmName: algorithmInfo(key.algorithm).wireName,
    timeSigned: fields.timeSigned,
    fudge: fields.fudge,
    mac: new Uint8Array(0),
    originalId: messageId(message),
    error: fields.error,
    otherData: fields.otherData,
  };
  if (digest !== null) {
    const full = await key.hmac.sign([...digest.before, message, tsigVariables(record, digest.timersOnly)]);
    record.mac = full.slice(0, digest.macSize);
  }
  const w = new WireWriter({ initialCapacity: message.length + 128 + record.mac.length });
  w.bytes(message);
  const arcount = (message[10]! << 8) | message[11]!;
  if (arcount === 0xffff) throw new TsigError("malformed", "ARCOUNT is full; no room for a TSIG record");
  w.setU16(10, arcount + 1);
  writeTsigRecord(w, record);
  return { message: w.finish(), mac: record.mac, record };
}

/** Signs a request (query, AXFR/IXFR, NOTIFY, UPDATE). Keep `mac` to verify the response. */
export async function signRequest(message: Uint8Array, key: TsigKey, opts: SignOptions = {}): Promise<SignedMessage> {
  const macSize = checkMacSize(key, opts.macSize);
  return appendTsig(
    message,
    key,
    {
      keyName: opts.keyName,
      timeSigned: nowSeconds(opts.now),
      fudge: opts.fudge ?? DEFAULT_FUDGE,
      error: Rcode.NOERROR,
      otherData: new Uint8Array(0),
    },
    { before: [], timersOnly: false, macSize },
  );
}

export interface StreamSignOptions extends SignOptions {
  /** Sign every n-th message (1..100; RFC 8945 §5.3.1 allows at most 99 unsigned between). Default 1. */
  signEvery?: number;
}

/**
 * Signs the responses to one signed request: a single answer, or each message of an AXFR/IXFR stream.
 * Messages must be given in the order they are sent.
 */
export class TsigStreamSigner {
  private priorMac: Uint8Array;
  private pending: Uint8Array[] = [];
  private count = 0;
  private readonly signEvery: number;
  private readonly macSize: number;

  constructor(
    private readonly key: TsigKey,
    requestMac: Uint8Array,
    private readonly opts: StreamSignOptions = {},
  ) {
    this.priorMac = requestMac;
    const every = opts.signEvery ?? 1;
    if (!Number.isInteger(every) || every < 1 || every > 100) {
      throw new RangeError(`signEvery must be 1..100 (RFC 8945 §5.3.1), not ${every}`);
    }
    this.signEvery = every;
    this.macSize = checkMacSize(key, opts.macSize);
  }

  /**
   * Returns the message to send. The first and `last` messages are always signed; others follow
   * `signEvery` unless `sign` forces the choice (tests use `sign: false` to build broken streams).
   */
  async next(message: Uint8Array, opts: { last?: boolean; sign?: boolean } = {}): Promise<Uint8Array> {
    const index = this.count++;
    const sign = opts.sign ?? (index === 0 || opts.last === true || this.pending.length + 1 >= this.signEvery);
    if (!sign) {
      this.pending.push(message);
      return message;
    }
    const signed = await appendTsig(
      message,
      this.key,
      {
        keyName: this.opts.keyName,
        timeSigned: nowSeconds(this.opts.now),
        fudge: this.opts.fudge ?? DEFAULT_FUDGE,
        error: Rcode.NOERROR,
        otherData: new Uint8Array(0),
      },
      { before: [macPrefix(this.priorMac), ...this.pending], timersOnly: index > 0, macSize: this.macSize },
    );
    this.priorMac = signed.mac;
    this.pending = [];
    return signed.message;
  }
}

/**
 * Signs one response to a signed request. Given the `VerifiedRequest` itself, it uses the request's key
 * and MAC and repeats the request's spelling of the key name, which kdig insists on.
 */
export async function signResponse(message: Uint8Array, request: VerifiedRequest, opts?: SignOptions): Promise<Uint8Array>;
export async function signResponse(message: Uint8Array, key: TsigKey, requestMac: Uint8Array, opts?: SignOptions): Promise<Uint8Array>;
export async function signResponse(
  message: Uint8Array,
  keyOrRequest: TsigKey | VerifiedRequest,
  macOrOpts?: Uint8Array | SignOptions,
  maybeOpts: SignOptions = {},
): Promise<Uint8Array> {
  if ("record" in keyOrRequest) {
    const opts = { keyName: keyOrRequest.record.keyName, ...(macOrOpts as SignOptions | undefined) };
    return new TsigStreamSigner(keyOrRequest.key, keyOrRequest.mac, opts).next(message, { last: true });
  }
  return new TsigStreamSigner(keyOrRequest, macOrOpts as Uint8Array, maybeOpts).next(message, { last: true });
}
