/**
 * @module The limiter's two lanes: never more than `max` at once, an urgent attempt (a NOTIFY) ahead of
 * every routine one waiting, first come first served within a lane, and a waiting routine attempt promoted
 * when its zone is notified.
 */
import { describe, expect, it } from "vitest";
import { Limiter, type LimiterTicket } from "./limiter.ts";

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
