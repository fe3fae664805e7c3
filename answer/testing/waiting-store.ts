/**
 * @module Test support for the engine's two ways of running (`answer/awaitable.ts`): a store made to wait on
 * every lookup (as the D1 store does), and a store that fails at its nth lookup, by throwing or by rejecting,
 * so tests can hold the answers of a store that never waits to those of one that does, and show that a
 * failure is the same SERVFAIL whichever way it comes.
 */
import type { Awaitable } from "../awaitable.ts";
import type { ZoneStore } from "../zone-store.ts";

/** The lookups of the port, by name. */
export const LOOKUPS = ["findZone", "node", "closestEncloser", "predecessor", "nsec3Predecessor"] as const;
type Lookup = (typeof LOOKUPS)[number];

/** `store` with every lookup routed through `each(lookup, value)`, counting the lookups made. */
function wrapped(store: ZoneStore, each: (lookup: Lookup, call: number, make: () => Awaitable<unknown>) => Awaitable<unknown>): ZoneStore & { calls: number } {
  const out = { calls: 0 } as ZoneStore & { calls: number };
  for (const lookup of LOOKUPS) {
    const method = (store[lookup] as (...args: unknown[]) => Awaitable<unknown>).bind(store);
    (out as unknown as Record<Lookup, unknown>)[lookup] = (...args: unknown[]) => each(lookup, out.calls++, () => method(...args));
  }
  return out;
}

/** `store` (one that never waits) made to return every lookup as a promise, settled after the caller's turn. */
export function waitingStore(store: ZoneStore): ZoneStore & { calls: number } {
  return wrapped(store, (_lookup, _call, make) => Promise.resolve().then(make));
}

/** `store` counting its lookups, otherwise untouched. */
export function countingStore(store: ZoneStore): ZoneStore & { calls: number } {
  return wrapped(store, (_lookup, _call, make) => make());
}

/** The error a failing store fails with. */
export class StoreFault extends Error {
  override readonly name = "StoreFault";
}

/**
 * `store` whose lookup number `at` (from 0, over every lookup) fails: it throws (`"throw"`) or returns a
 * rejected promise (`"reject"`); every other lookup answers as `store` does.
 */
export function failingStore(store: ZoneStore, at: number, how: "throw" | "reject"): ZoneStore & { calls: number; failed: Lookup | undefined } {
  let failed: Lookup | undefined;
  const out = wrapped(store, (lookup, call, make) => {
    if (call !== at) return make();
    failed = lookup;
    const fault = new StoreFault(`${lookup} failed (lookup ${call})`);
    if (how === "throw") throw fault;
    return Promise.reject(fault);
  });
  return Object.defineProperty(out, "failed", { get: () => failed }) as ZoneStore & { calls: number; failed: Lookup | undefined };
}
