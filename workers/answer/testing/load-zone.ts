/**
 * @module Test support: master-file text (RFC 1035 §5.1) → records → a {@link MemoryStore}. A small reader
 * for the zones the table tests write (owner, optional TTL and class, type, rdata; `$ORIGIN`, `$TTL`,
 * parentheses, `;` comments, a blank owner repeats the last one); the rdata itself is parsed by the project's
 * codecs (`dns/rdata`), so every type and RFC 3597 `\#` work. It is replaced by `dns/zonefile` once that
 * parser lands.
 */
import { classFromString, typeFromString } from "../../../dns/constants.ts";
import { Name } from "../../../dns/name.ts";
import { rdataFromText, tokenize } from "../../../dns/rdata/index.ts";
import { MemoryStore, type OwnedRecord } from "../memory-store.ts";
import type { ZoneInfo } from "../zone-store.ts";

/** Drops a `;` comment that is not inside quotes. */
function stripComment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "\\") i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ";" && !quoted) return line.slice(0, i);
  }
  return line;
}

/** Joins parenthesized continuations into logical lines (parentheses outside quotes only). */
function logicalLines(text: string): string[] {
  const out: string[] = [];
  let pending = "";
  let depth = 0;
  for (const raw of text.split("\n")) {
    const line = stripComment(raw);
    let quoted = false;
    let cleaned = "";
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (c === "\\") {
        cleaned += c + (line[i + 1] ?? "");
        i++;
        continue;
      }
      if (c === '"') quoted = !quoted;
      if (!quoted && c === "(") {
        depth++;
        cleaned += " ";
      } else if (!quoted && c === ")") {
        depth--;
        cleaned += " ";
      } else cleaned += c;
    }
    pending = pending ? `${pending} ${cleaned}` : cleaned;
    if (depth === 0) {
      if (pending.trim()) out.push(pending);
      pending = "";
    }
  }
  return out;
}

/** Parses zone text into records. Throws on anything it cannot read (tests want to know). */
export function parseZoneText(text: string, origin: Name): OwnedRecord[] {
  const records: OwnedRecord[] = [];
  let currentOrigin = origin;
  let defaultTtl = 3600;
  let lastOwner: Name | undefined;
  for (const line of logicalLines(text)) {
    const tokens = tokenize(line.trim());
    const first = tokens[0]!.text;
    if (first.toUpperCase() === "$ORIGIN") {
      currentOrigin = Name.parse(tokens[1]!.text, currentOrigin);
      continue;
    }
    if (first.toUpperCase() === "$TTL") {
      defaultTtl = Number(tokens[1]!.text);
      continue;
    }
    let i = 0;
    let owner: Name;
    if (/^\s/.test(line)) {
      if (!lastOwner) throw new Error(`no owner to repeat: ${line}`);
      owner = lastOwner;
    } else {
      owner = Name.parse(tokens[0]!.text, currentOrigin);
      i = 1;
    }
    lastOwner = owner;
    let ttl = defaultTtl;
    let cls = 1;
    let type: number | undefined;
    for (; i < tokens.length && type === undefined; i++) {
      const t = tokens[i]!.text;
      if (/^\d+$/.test(t)) ttl = Number(t);
      else if (classFromString(t) !== undefined && typeFromString(t) === undefined) cls = classFromString(t)!;
      else type = typeFromString(t);
      if (type === undefined && !/^\d+$/.test(t) && classFromString(t) === undefined) throw new Error(`unknown type ${t}: ${line}`);
    }
    if (type === undefined) throw new Error(`no type: ${line}`);
    records.push({ name: owner, type, class: cls, ttl, rdata: rdataFromText(type, tokens.slice(i), currentOrigin) });
  }
  return records;
}

/** Settings of a test zone; everything but the apex has a serving default. */
export type TestZone = { apex: string; text: string } & Partial<Omit<ZoneInfo, "name">>;

/** A store holding the given zones, numbered from 1, each loaded at version 1 and never expiring. */
export function storeOf(...zones: TestZone[]): MemoryStore {
  return new MemoryStore(
    zones.map((z, i) => {
      const apex = Name.parse(z.apex);
      return {
        info: {
          id: z.id ?? i + 1,
          name: apex,
          model: z.model ?? "secondary",
          version: z.version === undefined ? 1 : z.version,
          expiresAt: z.expiresAt ?? null,
          answerAllow: z.answerAllow ?? [],
        },
        records: parseZoneText(z.text, apex),
      };
    }),
  );
}
