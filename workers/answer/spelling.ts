/**
 * @module How names are spelled in a response. Knot and NSD compress names case-insensitively, so each name
 * reads back with the spelling of the first occurrence of its longest suffix already in the message: ask
 * `WWW.Example.ORG` and the SOA in the authority section comes back as `Example.ORG`, the MX target as
 * `mail.Example.ORG`. RFC 4343 §4.1 allows this ("the case of the first occurrence"); resolvers ignore case
 * anyway, but a secondary should be indistinguishable from its peers, and the differential suite holds
 * Backstop to them.
 *
 * Our encoder compresses only onto exactly equal octets (so it never changes a name behind our back), so the
 * engine does the respelling itself, in the order the encoder writes: the question, then per record its
 * owner and the names in the rdata of the RFC 1035 types that are compressed (RFC 3597 §4). Other rdata
 * (SRV, DNAME, unknown types) is never touched: byte-exact carriage matters more there.
 */
import { RRType } from "../../dns/constants.ts";
import type { Message, ResourceRecord } from "../../dns/message.ts";
import { Name } from "../../dns/name.ts";
import { WireReader } from "../../dns/wire/reader.ts";
import { WireWriter } from "../../dns/wire/writer.ts";

/** Rdata layouts of the compressible types: the names, then what follows them. */
type Layout = "name" | "pref-name" | "two-names" | "soa";
const LAYOUTS = new Map<number, Layout>([
  [RRType.NS, "name"],
  [RRType.MD, "name"],
  [RRType.MF, "name"],
  [RRType.CNAME, "name"],
  [RRType.MB, "name"],
  [RRType.MG, "name"],
  [RRType.MR, "name"],
  [RRType.PTR, "name"],
  [RRType.MX, "pref-name"],
  [RRType.MINFO, "two-names"],
  [RRType.SOA, "soa"],
]);

/** Remembers the first spelling of every suffix seen, in message order. */
export class Speller {
  private readonly first = new Map<string, readonly Uint8Array[]>();

  /** `name` with its longest already-seen suffix spelled as first seen; its own suffixes are then recorded. */
  spell(name: Name): Name {
    const labels = name.labels;
    let out = name;
    for (let i = 0; i < labels.length; i++) {
      const seen = this.first.get(name.stripLeft(i).key);
      if (seen) {
        if (i === 0) out = Name.fromLabels(seen);
        else out = Name.fromLabels([...labels.slice(0, i), ...seen]);
        break;
      }
    }
    for (let i = 0; i < out.labels.length; i++) {
      const suffix = out.stripLeft(i);
      if (this.first.has(suffix.key)) break;
      this.first.set(suffix.key, suffix.labels);
    }
    return out;
  }

  /** Rdata with its compressible names respelled; other types, and rdata that does not parse, unchanged. */
  spellRdata(type: number, rdata: Uint8Array): Uint8Array {
    const layout = LAYOUTS.get(type);
    if (layout === undefined) return rdata;
    try {
      const r = new WireReader(rdata);
      const w = new WireWriter();
      if (layout === "pref-name") w.bytes(r.bytes(2));
      w.name(this.spell(r.name()), false);
      if (layout === "two-names" || layout === "soa") w.name(this.spell(r.name()), false);
      w.bytes(r.rest());
      return w.finish();
    } catch {
      return rdata;
    }
  }

  record(rr: ResourceRecord): ResourceRecord {
    const name = this.spell(rr.name);
    return { ...rr, name, rdata: this.spellRdata(rr.type, rr.rdata) };
  }
}

/** The message with every name spelled as Knot and NSD's compression would make it read (see above). */
export function respell(message: Message): Message {
  const speller = new Speller();
  const questions = message.questions.map((q) => ({ ...q, name: speller.spell(q.name) }));
  const answers = message.answers.map((rr) => speller.record(rr));
  const authorities = message.authorities.map((rr) => speller.record(rr));
  const additionals = message.additionals.map((rr) => speller.record(rr));
  return { ...message, questions, answers, authorities, additionals };
}
