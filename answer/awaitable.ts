/**
 * @module Values that may or may not have to be waited for: how the answer engine runs synchronously over a
 * store that never waits (the port-53 front's replica, `answer/store/compact-zone.ts`) and asynchronously over
 * one that does (the Worker's D1 store), with one engine for both (issue 27, session 9).
 *
 * Why not `async`/`await` everywhere: on the front's hot wire path every `await` costs an async function frame
 * (a generator object), a promise and a microtask turn, even when the value was there all along; a miss answer
 * went through about ten of them (half of its ~14 KB of garbage, and the front slept in `epoll_wait` between the
 * turns). So a store's lookup returns `T | Promise<T>` ({@link Awaitable}), and each engine step continues with
 * {@link andThen}: at once on a value, on the promise's settlement otherwise. A store that never returns a
 * promise gets its answer in the same call; one that always does (D1) gets the same steps in the same order.
 *
 * Errors keep their place: a step that throws on a value throws (the caller's `try` sees it), and one that throws
 * after a promise rejects (the caller's `.then(…, onRejected)` sees it); the engine catches both where it caught
 * the rejection before (`engine.ts`: SERVFAIL for a store failure).
 *
 * `instanceof Promise`: every store returns native promises (workerd's and Node's), never foreign thenables.
 */

/** A value now, or a promise of it. */
export type Awaitable<T> = T | Promise<T>;

/** True when `value` has to be waited for. */
export function isPromise<T>(value: Awaitable<T>): value is Promise<T> {
  return value instanceof Promise;
}

/** `then(value)` at once when `value` is here, else once it settles (a rejection passes through untouched). */
export function andThen<T, U>(value: Awaitable<T>, then: (value: T) => Awaitable<U>): Awaitable<U> {
  return value instanceof Promise ? value.then(then) : then(value);
}

/**
 * Every value of `values`, in order: an array at once when none is a promise, else a promise of it (as
 * `Promise.all`, which the caller would otherwise use: each value was started before this is called).
 */
export function allOf<T>(values: readonly Awaitable<T>[]): Awaitable<T[]> {
  for (const value of values) if (value instanceof Promise) return Promise.all(values);
  return values as T[];
}

/** `value` as a promise, for callers that chain with `.then`; a throw while making it becomes a rejection. */
export function promiseOf<T>(make: () => Awaitable<T>): Promise<T> {
  try {
    return Promise.resolve(make());
  } catch (err) {
    return Promise.reject(err);
  }
}
