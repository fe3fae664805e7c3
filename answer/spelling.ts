/**
 * @module How names are spelled in a response. Knot and NSD compress names case-insensitively, so each name
 * reads back with the spelling of the first occurrence of its longest suffix already in the message: ask
 * `WWW.Example.ORG` and the SOA in the authority section comes back as `Example.ORG`, the MX target as
 * `mail.Example.ORG`. RFC 4343 §4.1 allows this ("the case of the first occurrence"); resolvers ignore case
 * anyway, but a secondary should be indistinguishable from its peers, and the differential suite holds
 * Backstop to them.
 *
 * Knot and NSD also keep owner names lowercased (as they load them), so an owner whose labels were not seen
 * earlier in the message comes out in lower case (an NSEC owner `Mixed.Case` reads `mixed.case`); names inside
 * rdata keep the zone's spelling.
 *
 * Our encoder compresses only onto exactly equal octets (so it never changes a name behind our back), so the
 * engine does the respelling itself, in the order the encoder writes: the question, then per record its
 * owner and the names in the rdata of the RFC 1035 types that are compressed (RFC 3597 §4). Other rdata
 * (SRV, DNAME, unknown types) is never touched: byte-exact carriage matters more there.
 */
import { RRType } from "../dns/constants.ts";
import type { Message, ResourceRecord } from "../dns/message.ts";
import { Name } from "../dns/name.ts";
import { WireReader } from "../dns/wire/reader.ts";
import { WireWriter } from "../dns/wire/writer.ts";

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

/** ASCII-lowercased labels joined with their lengths: equal for two suffixes that differ only in case. */
function suffixKeys(labels: readonly Uint8Array[]): string[] {
  const keys = new Array<string>(labels.length + 1);
  keys[labels.length] = "";
  for (let i = labels.length - 1; i >= 0; i--) {
    const label = labels[i]!;
    let k = String.fromCharCode(label.length);
    for (let j = 0; j < label.length; j++) {
      const b = label[j]!;
      k += String.fromCharCode(b >= 0x41 && b <= 0x5a ? b + 0x20 : b);
    }
    keys[i] = k + keys[i + 1];
  }
  return keys;
}

function sameOctets(a: readonly Uint8Array[], from: number, b: readonly Uint8Array[], bFrom: number): boolean {
  if (a.length - from !== b.length - bFrom) return false;
  for (let i = 0; i < a.length - from; i++) {
    const x = a[from + i]!, y = b[bFrom + i]!;
    if (x.length !== y.length) return false;
    for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) return false;
  }
  return true;
}

/** True when one of the first `count` labels holds an ASCII capital. */
function hasUpper(labels: readonly Uint8Array[], count: number): boolean {
  // Indexed loops, no iterator: every name of every answer passes here (issue 27, session 10).
  for (let i = 0; i < count; i++) {
    const label = labels[i]!;
    for (let j = 0; j < label.length; j++) {
      const b = label[j]!;
      if (b >= 0x41 && b <= 0x5a) return true;
    }
  }
  return false;
}

/** Remembers the first spelling of every suffix seen, in message order. Hot path: no work for names that keep their spelling. */
export class Speller {
  /** Suffix key → the labels of the first name seen with that suffix, and where the suffix starts in them. */
  private readonly first = new Map<string, { labels: readonly Uint8Array[]; from: number }>();

  /**
   * `name` with its longest already-seen suffix spelled as first seen (the same object when nothing changes);
   * its new suffixes are then recorded.
   */
  spell(name: Name, lowerUnseen = false): Name {
    const labels = name.labels;
    const keys = suffixKeys(labels);
    let out = name;
    let known = labels.length;
    for (let i = 0; i < labels.length; i++) {
      const seen = this.first.get(keys[i]!);
      if (seen) {
        known = i;
        if (!sameOctets(labels, i, seen.labels, seen.from)) {
          out = Name.fromLabels([...labels.slice(0, i), ...seen.labels.slice(seen.from)]);
        }
        break;
      }
    }
    if (lowerUnseen && known > 0 && hasUpper(labels, known)) {
      const lowered = out.lower().labels;
      out = Name.fromLabels([...lowered.slice(0, known), ...out.labels.slice(known)]);
    }
    // Suffixes from `known` on are recorded already (a suffix is only ever recorded with all of its own).
    for (let i = 0; i < known; i++) this.first.set(keys[i]!, { labels: out.labels, from: i });
    return out;
  }

  /** Rdata with its compressible names respelled; other types, and rdata that does not parse, unchanged. */
  spellRdata(type: number, rdata: Uint8Array): Uint8Array {
    const layout = LAYOUTS.get(type);
    if (layout === undefined) return rdata;
    try {
      const r = new WireReader(rdata);
      const prefix = layout === "pref-name" ? r.bytes(2) : undefined;
      const names = [r.name()];
      if (layout === "two-names" || layout === "soa") names.push(r.name());
      const rest = r.rest();
      const spelled = names.map((n) => this.spell(n));
      if (spelled.every((n, i) => n === names[i])) return rdata;
      const w = new WireWriter({ initialCapacity: rdata.length });
      if (prefix) w.bytes(prefix);
      for (const n of spelled) w.name(n, false);
      w.bytes(rest);
      return w.finish();
    } catch {
      return rdata;
    }
  }

  record(rr: ResourceRecord): ResourceRecord {
    const name = this.spell(rr.name, true);
    const rdata = this.spellRdata(rr.type, rr.rdata);
    return name === rr.name && rdata === rr.rdata ? rr : { ...rr, name, rdata };
  }
}

/**
 * True when an octet of the names in `rdata` of a compressible layout may be an ASCII capital: the octets
 * from the first name to the end of the last one (walked by their label lengths; a label length is never
 * 0x41–0x5a, labels being at most 63 octets), or to the end of the rdata when they do not end inside it. The
 * SOA's counters after its names are not looked at; an MX preference is skipped.
 */
function rdataHasUpper(layout: Layout, rdata: Uint8Array): boolean {
  let at = layout === "pref-name" ? 2 : 0;
  const from = at;
  for (let names = layout === "soa" || layout === "two-names" ? 2 : 1; names > 0 && at < rdata.length; names--) {
    while (at < rdata.length && rdata[at] !== 0) at += rdata[at]! + 1;
    at++;
  }
  const to = Math.min(at, rdata.length);
  for (let i = from; i < to; i++) if (rdata[i]! >= 0x41 && rdata[i]! <= 0x5a) return true;
  return false;
}

function recordsLower(records: readonly ResourceRecord[]): boolean {
  for (const rr of records) {
    if (hasUpper(rr.name.labels, rr.name.labels.length)) return false;
    const layout = LAYOUTS.get(rr.type);
    if (layout !== undefined && rdataHasUpper(layout, rr.rdata)) return false;
  }
  return true;
}

/**
 * True when no name the speller would look at has a capital: then every name already reads as its first
 * occurrence (equal suffixes are equal octets) and no owner needs lowering, so `respell` changes nothing.
 * The usual case (zones are mostly lower case, and so are most questions), checked without a string or a Map.
 */
function alreadySpelled(message: Message): boolean {
  for (const q of message.questions) if (hasUpper(q.name.labels, q.name.labels.length)) return false;
  return recordsLower(message.answers) && recordsLower(message.authorities) && recordsLower(message.additionals);
}

/** The message with every name spelled as Knot and NSD's compression would make it read (see above). */
export function respell(message: Message): Message {
  if (alreadySpelled(message)) return message;
  const speller = new Speller();
  const questions = message.questions.map((q) => ({ ...q, name: speller.spell(q.name) }));
  const answers = message.answers.map((rr) => speller.record(rr));
  const authorities = message.authorities.map((rr) => speller.record(rr));
  const additionals = message.additionals.map((rr) => speller.record(rr));
  return { ...message, questions, answers, authorities, additionals };
}
