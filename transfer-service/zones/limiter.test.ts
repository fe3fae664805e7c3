/**
 * @module The limiter's two lanes: never more than `max` at once, an urgent attempt (a NOTIFY) ahead of
 * every routine one waiting, first come first served within a lane, and a waiting routine attempt promoted
 * when its zone is notified.
 */
import { describe, expect, it } from "vitest";
import { Limiter, PrimaryLimiter, type LimiterTicket } from "./limiter.ts";

/** A task that runs until released, recording its start. */
function gate(order: string[], name: string, running: { now: number; max: number }): { task: () => Promise<void>; release: () => void } {
  let release: () => void = () => undefined;
  const done = new Promise<void>((r) => (release = r));
  return {
    task: async () => {
      order.push(name);
      running.now++;
      running.max = Math.max(running.max, running.now);
      await done;
      running.now--;
    },
    release: () => release(),
  };
}

describe("Limiter", () => {
  it("runs urgent waiters before routine ones, each lane in order, never more than max at once", async () => {
    const limiter = new Limiter(2);
    const order: string[] = [];
    const running = { now: 0, max: 0 };
    const tasks = new Map<string, ReturnType<typeof gate>>();
    const runs: Array<Promise<void>> = [];
    for (const [name, urgent] of [["r1", false], ["r2", false], ["r3", false], ["r4", false], ["u1", true], ["u2", true]] as const) {
      const g = gate(order, name, running);
      tasks.set(name, g);
      runs.push(limiter.run(g.task, urgent));
    }
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(["r1", "r2"]);
    expect(limiter.waiting).toEqual({ urgent: 2, routine: 2 });
    for (const name of ["r1", "r2", "u1", "u2", "r3", "r4"]) {
      tasks.get(name)!.release();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(runs);
    expect(order).toEqual(["r1", "r2", "u1", "u2", "r3", "r4"]);
    expect(running.max).toBe(2);
    expect(limiter.running).toBe(0);
  });

  it("promotes a waiting routine attempt to the urgent lane", async () => {
    const limiter = new Limiter(1);
    const order: string[] = [];
    const running = { now: 0, max: 0 };
    const first = gate(order, "busy", running);
    const runs = [limiter.run(first.task)];
    const tickets = new Map<string, LimiterTicket>();
    const gates = ["a", "b", "c"].map((name) => {
      const g = gate(order, name, running);
      runs.push(limiter.run(g.task, false, (t) => tickets.set(name, t)));
      return g;
    });
    await new Promise((r) => setImmediate(r));
    tickets.get("c")!.promote(); // its zone was notified while it waited
    tickets.get("c")!.promote(); // twice is once
    expect(limiter.waiting).toEqual({ urgent: 1, routine: 2 });
    first.release();
    for (const g of [gates[2]!, gates[0]!, gates[1]!]) {
      await new Promise((r) => setImmediate(r));
      g.release();
    }
    await Promise.all(runs);
    expect(order).toEqual(["busy", "c", "a", "b"]);
  });
});

describe("PrimaryLimiter (BIND's transfers-per-ns)", () => {
  it("runs at most max transfers per primary, in order, while other primaries run beside; forgets an idle primary", async () => {
    const limiter = new PrimaryLimiter(2);
    const order: string[] = [];
    const perPrimary = new Map<string, { now: number; max: number }>();
    const tasks = new Map<string, ReturnType<typeof gate>>();
    const runs: Array<Promise<void>> = [];
    for (const [name, primary] of [["a1", "192.0.2.1:53"], ["a2", "192.0.2.1:53"], ["a3", "192.0.2.1:53"], ["a4", "192.0.2.1:53"], ["b1", "192.0.2.2:53"], ["c1", "192.0.2.1:5300"]] as const) {
      if (!perPrimary.has(primary)) perPrimary.set(primary, { now: 0, max: 0 });
      const g = gate(order, name, perPrimary.get(primary)!);
      tasks.set(name, g);
      runs.push(limiter.run(primary, g.task));
    }
    await new Promise((r) => setImmediate(r));
    // Two of 192.0.2.1:53's four; the other primaries (another address, another port) are not held up.
    expect(order).toEqual(["a1", "a2", "b1", "c1"]);
    expect(limiter.load("192.0.2.1:53")).toEqual({ running: 2, waiting: 2 });
    for (const name of ["a2", "a1", "b1", "c1", "a3", "a4"]) {
      tasks.get(name)!.release();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(runs);
    expect(order).toEqual(["a1", "a2", "b1", "c1", "a3", "a4"]);
    expect(perPrimary.get("192.0.2.1:53")!.max).toBe(2);
    expect(limiter.size).toBe(0);
  });

  it("a waiter whose attempt stops leaves the queue without running; max 0 is no limit", async () => {
    const limiter = new PrimaryLimiter(1);
    const order: string[] = [];
    const running = { now: 0, max: 0 };
    const held = gate(order, "first", running);
    const first = limiter.run("p", held.task);
    const stop = new AbortController();
    const waiting = limiter.run("p", gate(order, "stopped", running).task, stop.signal);
    const third = gate(order, "third", running);
    const after = limiter.run("p", third.task);
    await new Promise((r) => setImmediate(r));
    stop.abort(new Error("the lease was lost"));
    await expect(waiting).rejects.toThrow("the lease was lost");
    expect(limiter.load("p")).toEqual({ running: 1, waiting: 1 });
    held.release();
    await first;
    await new Promise((r) => setImmediate(r));
    third.release();
    await after;
    expect(order).toEqual(["first", "third"]);
    expect(limiter.size).toBe(0);

    const unlimited = new PrimaryLimiter(0);
    const all = { now: 0, max: 0 };
    const gates = [1, 2, 3].map((i) => gate([], `u${i}`, all));
    const runs = gates.map((g) => unlimited.run("p", g.task));
    await new Promise((r) => setImmediate(r));
    expect(all.now).toBe(3);
    for (const g of gates) g.release();
    await Promise.all(runs);
  });
});
