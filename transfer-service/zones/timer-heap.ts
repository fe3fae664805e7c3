/**
 * @module One timer for many deadlines (issue 19: a zone set of 100,000 zones must not hold 100,000 armed
 * `setTimeout`s, each a Node `Timeout` object with its closure and list links). Every zone's next event
 * (`zone-events.ts`) is an entry of one binary min-heap ordered by deadline; one `setTimeout` is armed for
 * the earliest, and when it fires every entry due is fired in deadline order. Moving or removing an entry is
 * O(log n) through the index each entry carries, so a replan costs no scan and no allocation.
 *
 * Deadlines are on the set's clock (`now`); a deadline further away than `MAX_TIMER_MS` is waited for in
 * steps (Node's timers take at most 2^31-1 ms).
 */

/** Longest single `setTimeout` armed; a later deadline is re-armed when it fires. */
const MAX_TIMER_MS = 6 * 3600 * 1000;

/** What the heap keeps of an entry: its deadline and place (-1: not in the heap), and what to do when due. */
export interface TimerEntry {
  timerAt: number;
  timerIndex: number;
  fire(): void;
}

export class TimerHeap {
  private readonly heap: TimerEntry[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The deadline the armed timer is for. */
  private armedFor = Infinity;
  /** While due entries fire: arm once after them, not after each. */
  private firing = false;

  constructor(private readonly now: () => number = Date.now) {}

  /** Entries waiting. */
  get size(): number {
    return this.heap.length;
  }

  /** Puts `entry` at deadline `at` (moving it when it is in the heap already). */
  set(entry: TimerEntry, at: number): void {
    const i = entry.timerIndex;
    entry.timerAt = at;
    if (i < 0 || this.heap[i] !== entry) {
      entry.timerIndex = this.heap.length;
      this.heap.push(entry);
      this.up(entry.timerIndex);
    } else {
      this.down(this.up(i));
    }
    this.arm();
  }

  /** Takes `entry` out of the heap, if it is in it. */
  clear(entry: TimerEntry): void {
    const i = entry.timerIndex;
    if (i < 0 || this.heap[i] !== entry) return;
    entry.timerIndex = -1;
    const last = this.heap.pop()!;
    if (last !== entry) {
      this.heap[i] = last;
      last.timerIndex = i;
      this.down(this.up(i));
    }
    this.arm();
  }

  /** Arms the one timer for the earliest deadline (or none). */
  private arm(): void {
    if (this.firing) return;
    const first = this.heap[0];
    if (!first) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.armedFor = Infinity;
      return;
    }
    if (this.timer && this.armedFor === first.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = first.timerAt;
    const delay = Math.max(0, Math.min(first.timerAt - this.now(), MAX_TIMER_MS));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.armedFor = Infinity;
      this.fireDue();
    }, delay);
  }

  /** Fires every entry due, earliest first (a fired entry may set itself again), then re-arms. */
  private fireDue(): void {
    const now = this.now();
    this.firing = true;
    try {
      for (let first = this.heap[0]; first && first.timerAt <= now; first = this.heap[0]) {
        this.clear(first);
        first.fire();
      }
    } finally {
      this.firing = false;
      this.arm();
    }
  }

  private up(i: number): number {
    const heap = this.heap;
    const entry = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (p.timerAt <= entry.timerAt) break;
      heap[i] = p;
      p.timerIndex = i;
      i = parent;
    }
    heap[i] = entry;
    entry.timerIndex = i;
    return i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const entry = heap[i]!;
    const n = heap.length;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && heap[child + 1]!.timerAt < heap[child]!.timerAt) child++;
      const c = heap[child]!;
      if (c.timerAt >= entry.timerAt) break;
      heap[i] = c;
      c.timerIndex = i;
      i = child;
    }
    heap[i] = entry;
    entry.timerIndex = i;
  }
}
