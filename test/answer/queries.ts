/**
 * @module The differential suite's questions, generated deterministically: every owner of the zones, names
 * that do not exist next to them (siblings, children, grandchildren, so closest encloser, wildcards and
 * empty non-terminals are all reached), each asked for a spread of types, with the case of every letter
 * chosen by a seeded coin (RFC 4343: the answer must keep it).
 */
import { prng as random } from "../../dns/testing/prng.ts";
import type { Name } from "../../dns/name.ts";

export interface Question {
  name: string;
  type: string;
}

/** Types asked for every name: the zone's data types, the meta ones, one never present, and one unknown. */
export const QUERY_TYPES = ["A", "AAAA", "NS", "SOA", "MX", "TXT", "CNAME", "DNAME", "SRV", "DS", "PTR", "ANY", "TYPE65280", "HINFO", "RRSIG", "NSEC", "DNSKEY"];


function randomCase(text: string, next: () => number): string {
  let out = "";
  for (const c of text) out += /[a-z]/i.test(c) && next() < 0.5 ? (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) : c;
  return out;
}

/** The names to ask about: each owner, and nonexistent names beside and below it. */
export function namesAround(owners: readonly Name[]): string[] {
  const names = new Set<string>();
  for (const owner of owners) {
    const text = owner.toString();
    names.add(text);
    names.add(`nx-${owner.labelCount}.${text}`);
    names.add(`a.b.${text}`);
    if (owner.labelCount > 2) names.add(`zz-${text}`);
  }
  return [...names];
}

/** Every name × every type, in random case (seeded), plus each name once more in another random case. */
export function generateQuestions(owners: readonly Name[], seed: number): Question[] {
  const next = random(seed);
  const out: Question[] = [];
  for (const name of namesAround(owners)) {
    for (const type of QUERY_TYPES) out.push({ name: randomCase(name, next), type });
  }
  return out;
}

