/**
 * @module Packing a zone transfer's records into DNS messages (RFC 5936 §2.2): as many whole records per
 * message as fit under {@link MAX_TRANSFER_MESSAGE} octets, names compressed within each message
 * (RFC 1035 §4.1.4; rdata names only for the RFC 1035 types, RFC 3597 §4), the question in the first
 * message only (RFC 5936 §2.2.1 lets later ones omit it, as knotd and named do).
 *
 * A record never straddles two messages, and the packer holds one message under construction at a time:
 * `add` hands back the finished message when the next record no longer fits, so a transfer's memory is
 * one message plus what the connection has not sent yet, whatever the zone's size.
 *
 * Hand-written over `WireWriter` rather than `encodeMessage`: the latter takes a whole record list per
 * message, and would make the transfer build arrays of records just to cut them again.
 */
import type { Question, ResourceRecord } from "../../../dns/message.ts";
import { packFlagsWord } from "../../../dns/header.ts";
import { Opcode, Rcode } from "../../../dns/constants.ts";
import { WireOverflow, WireWriter } from "../../../dns/wire/writer.ts";
import { writeRdata } from "../../../dns/wire/rdata-names.ts";

/**
 * Room kept free in every message for the TSIG record signed onto it: owner (the key name, ≤ 255),
 * type/class/TTL/rdlength (10), algorithm name (≤ 255, in practice ≤ 26), time, fudge, MAC size, original
 * ID, error, other length (16) and the MAC (≤ 64).
 */
export const TSIG_ROOM = 640;

/** Close to 64 KiB, as knotd packs: the TCP frame's 16-bit length minus the TSIG room. */
export const MAX_TRANSFER_MESSAGE = 0xffff - TSIG_ROOM;

export interface PackerHeader {
  id: number;
  /** Copied from the request (RFC 1035 §4.1.1). */
  rd: boolean;
  /**
   * The request carried an OPT (RFC 6891 §7: the response then carries one too): every message gets a
   * bare OPT with this UDP payload size and the request's DO bit, before the TSIG (as BIND sends it).
   */
  edns?: { udpPayloadSize: number; dnssecOk: boolean } | undefined;
}

/** Octets of a bare OPT record: root owner, type, class (payload size), TTL, RDLENGTH 0. */
const OPT_LENGTH = 11;

export class TransferPacker {
  private writer: WireWriter | undefined;
  private count = 0;
  private first = true;
  /** Messages finished so far. */
  messages = 0;
  /** Octets of the messages finished so far (before TSIG). */
  bytes = 0;

  constructor(
    private readonly header: PackerHeader,
    private readonly question: Question,
    private readonly maxSize = MAX_TRANSFER_MESSAGE,
  ) {}

  /** Adds a record; returns the finished message when `rr` did not fit in it (then `rr` opens the next one). */
  add(rr: ResourceRecord): Uint8Array | undefined {
    const w = (this.writer ??= this.open());
    const mark = w.mark();
    try {
      writeRecord(w, rr);
      this.count++;
      return undefined;
    } catch (err) {
      if (!(err instanceof WireOverflow)) throw err;
      w.rollback(mark);
    }
    if (this.count === 0) throw new RangeError(`record ${rr.name} type ${rr.type} does not fit in a ${this.maxSize}-octet message`);
    const done = this.close();
    this.writer = this.open();
    writeRecord(this.writer, rr);
    this.count = 1;
    return done;
  }

  /** The message under construction, finished (the last of the transfer); a question-only one if nothing was added. */
  finish(): Uint8Array {
    this.writer ??= this.open();
    return this.close();
  }

  private open(): WireWriter {
    const w = new WireWriter({ maxSize: this.maxSize - (this.header.edns ? OPT_LENGTH : 0), initialCapacity: 16 * 1024, preserveCase: true });
    w.u16(this.header.id);
    w.u16(packFlagsWord(Opcode.QUERY, { qr: true, aa: true, tc: false, rd: this.header.rd, ra: false, z: false, ad: false, cd: false }, Rcode.NOERROR));
    w.u16(this.first ? 1 : 0);
    w.u32(0); // ANCOUNT (set on close), NSCOUNT
    w.u16(0); // ARCOUNT
    if (this.first) {
      w.name(this.question.name, true);
      w.u16(this.question.type);
      w.u16(this.question.class);
    }
    this.first = false;
    return w;
  }

  private close(): Uint8Array {
    const w = this.writer!;
    w.setU16(6, this.count);
    let out = w.finish();
    const edns = this.header.edns;
    if (edns) {
      // Written past the writer's limit, into the room `open` kept for it.
      const withOpt = new Uint8Array(out.length + OPT_LENGTH);
      withOpt.set(out);
      const view = new DataView(withOpt.buffer);
      view.setUint16(10, 1); // ARCOUNT
      view.setUint16(out.length + 1, 41); // OPT, after the root owner octet
      view.setUint16(out.length + 3, edns.udpPayloadSize);
      view.setUint32(out.length + 5, edns.dnssecOk ? 0x8000 : 0); // extended rcode 0, version 0, DO
      out = withOpt;
    }
    this.writer = undefined;
    this.count = 0;
    this.messages++;
    this.bytes += out.length;
    return out;
  }
}

function writeRecord(w: WireWriter, rr: ResourceRecord): void {
  w.name(rr.name, true);
  w.u16(rr.type);
  w.u16(rr.class);
  w.u32(rr.ttl);
  const lengthAt = w.length;
  w.u16(0);
  w.setU16(lengthAt, writeRdata(w, rr.type, rr.rdata, true));
}
