/**
 * @module The closest encloser of a name from its canonical neighbours (RFC 4592 §3.3.1, RFC 5155 §7.2.1).
 *
 * The names at or below an ancestor A form one contiguous run of the canonical order (RFC 4034 §6.1), and a
 * name that is absent from the zone sits between its canonical predecessor and successor. So A exists (has
 * records, or descendants with records) exactly when that run holds the predecessor or the successor, and the
 * closest encloser is the deeper of the two longest common ancestors. Any store that can find both neighbours
 * in one lookup (both stores, through `store/locating-zone-store.ts`) gets the closest encloser from it.
 */
import { compareLabels, type Name } from "../dns/name.ts";

/** The longest common ancestor of two names (at worst the root). */
export function commonAncestor(a: Name, b: Name): Name {
  let i = a.labels.length - 1;
  let j = b.labels.length - 1;
  let shared = 0;
  while (i >= 0 && j >= 0 && compareLabels(a.labels[i]!, b.labels[j]!) === 0) {
    shared++;
    i--;
    j--;
  }
  return a.stripLeft(a.labels.length - shared);
}

/**
 * The closest encloser of `name`, which has no node of its own, given its canonical predecessor and successor
 * among the zone's nodes (either may be missing at the ends of the zone). Never above `apex`. Spelled as
 * `name` spells it wherever a neighbour reaches that deep, the apex included; `apex`'s spelling otherwise.
 */
export function closestEncloserOf(name: Name, apex: Name, predecessor: Name | undefined, successor: Name | undefined): Name {
  let best = apex;
  for (const neighbour of [predecessor, successor]) {
    if (neighbour === undefined) continue;
    const shared = commonAncestor(name, neighbour);
    if (shared.labelCount >= best.labelCount) best = shared;
  }
  return best;
}
