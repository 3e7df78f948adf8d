import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WorkQueue, type Clock } from './queue.js';

/** A clock the test moves by hand. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return { cancel: () => (t.live = false) };
    },
    advance(ms) {
      now += ms;
      for (const t of timers.filter((t) => t.live && t.at <= now).sort((a, b) => a.at - b.at)) {
        t.live = false;
        t.fn();
      }
    },
  };
}

describe('WorkQueue', () => {
  it('takes keys waiting out a backoff at once when told their dependency is back, and leaves plain delays', async () => {
    const clock = manualClock();
    const q = new WorkQueue('t', undefined, clock);
    for (const key of ['a', 'b']) {
      for (let i = 0; i < 12; i++) q.addRateLimited(key);
    }
    q.addAfter('later', 60_000);
    expect(q.depth).toBe(0);
    expect(q.retryBackedOffNow()).toBe(2);
    expect([await q.get(), await q.get()].sort()).toEqual(['a', 'b']);
    // Their backoff starts again from the beginning; the requeue-after stays where it was.
    expect(q.backoffOf('a')).toBe(5);
    clock.advance(59_000);
    expect(q.depth).toBe(0);
    clock.advance(1_000);
    expect(await q.get()).toBe('later');
  });

  it('merges duplicate adds of a waiting key', async () => {
    const q = new WorkQueue('t');
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.depth).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  it('never hands a key to two workers at once, and reprocesses a key added while in flight', async () => {
    const q = new WorkQueue('t');
    q.add('a');
    const first = await q.get();
    q.add('a');
    expect(q.depth).toBe(0); // not handed out while 'a' is processing
    q.done(first as string);
    expect(q.depth).toBe(1);
    expect(await q.get()).toBe('a');
  });

  it('backs off per key exponentially up to the maximum, and forget resets it', () => {
    const clock = manualClock();
    const q = new WorkQueue(
      't',
      { baseDelayMs: 5, maxDelayMs: 1000, retriesPerSecond: 1e9, burst: 1e9 },
      clock,
    );
    const delays = Array.from({ length: 10 }, () => q.addRateLimited('a'));
    expect(delays).toEqual([5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    q.forget('a');
    expect(q.addRateLimited('a')).toBe(5);
    expect(q.addRateLimited('b')).toBe(5);
  });

  it('limits the overall retry rate with a token bucket', () => {
    const clock = manualClock();
    const q = new WorkQueue('t', { baseDelayMs: 1, maxDelayMs: 1, retriesPerSecond: 10, burst: 2 }, clock);
    expect(q.addRateLimited('a')).toBe(1);
    expect(q.addRateLimited('b')).toBe(1);
    expect(q.addRateLimited('c')).toBe(100); // bucket empty: one token per 100 ms
    expect(q.addRateLimited('d')).toBe(200);
  });

  it('adds a key after its delay, keeping the earliest of several delays', async () => {
    const clock = manualClock();
    const q = new WorkQueue('t', undefined, clock);
    q.addAfter('a', 500);
    q.addAfter('a', 100);
    q.addAfter('a', 900);
    clock.advance(99);
    expect(q.depth).toBe(0);
    clock.advance(1);
    expect(q.depth).toBe(1);
    clock.advance(1000);
    expect(q.depth).toBe(1);
  });

  it('wakes a waiting worker on add and releases all workers on shutdown', async () => {
    const q = new WorkQueue('t');
    const waiting = q.get();
    q.add('x');
    expect(await waiting).toBe('x');
    const idle = [q.get(), q.get()];
    q.shutdown();
    expect(await Promise.all(idle)).toEqual([undefined, undefined]);
  });

  it('processes every added key exactly once per burst of adds, whatever the interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 60 }),
        async (adds) => {
          const q = new WorkQueue('t');
          const active = new Set<string>();
          const seen = new Set<string>();
          let overlap = false;
          const worker = async () => {
            for (;;) {
              const key = await q.get();
              if (key === undefined) return;
              if (active.has(key)) overlap = true;
              active.add(key);
              seen.add(key);
              await new Promise((r) => setImmediate(r));
              active.delete(key);
              q.done(key);
            }
          };
          const workers = [worker(), worker(), worker()];
          for (const k of adds) {
            q.add(k);
            if (Math.random() < 0.5) await new Promise((r) => setImmediate(r));
          }
          while (q.depth > 0 || q.inFlight > 0) await new Promise((r) => setImmediate(r));
          q.shutdown();
          await Promise.all(workers);
          expect(overlap).toBe(false);
          expect([...seen].sort()).toEqual([...new Set(adds)].sort());
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe("WorkQueue's metrics, client-go's", () => {
  function observed() {
    const seen = { adds: 0, retries: 0, waited: [] as number[], worked: [] as number[] };
    return {
      seen,
      observer: {
        add: () => seen.adds++,
        retry: () => seen.retries++,
        waited: (s: number) => seen.waited.push(s),
        worked: (s: number) => seen.worked.push(s),
      },
    };
  }

  it('counts an add once however often a waiting key is added, and times its wait and its work on the clock', async () => {
    const clock = manualClock();
    const { seen, observer } = observed();
    const q = new WorkQueue('t', undefined, clock, observer);
    q.add('a');
    clock.advance(250);
    q.add('a');
    expect(seen.adds).toBe(1);
    clock.advance(750);
    expect(await q.get()).toBe('a');
    expect(seen.waited).toEqual([1]);
    clock.advance(2_000);
    expect(q.unfinishedWorkSeconds()).toBe(2);
    expect(q.longestRunningProcessorSeconds()).toBe(2);
    q.done('a');
    expect(seen.worked).toEqual([2]);
    expect(q.unfinishedWorkSeconds()).toBe(0);
  });

  it('counts an add made during processing once, and queues it after done without counting it again', async () => {
    const clock = manualClock();
    const { seen, observer } = observed();
    const q = new WorkQueue('t', undefined, clock, observer);
    q.add('a');
    await q.get();
    q.add('a');
    clock.advance(1_000);
    q.done('a');
    expect(seen.adds).toBe(2);
    expect(q.depth).toBe(1);
    expect(await q.get()).toBe('a');
    expect(seen.waited).toEqual([0, 1]);
  });

  it('sums unfinished work over the keys in processing, and names the longest', async () => {
    const clock = manualClock();
    const q = new WorkQueue('t', undefined, clock);
    q.add('a');
    q.add('b');
    await q.get();
    clock.advance(3_000);
    await q.get();
    clock.advance(1_000);
    expect(q.unfinishedWorkSeconds()).toBe(5);
    expect(q.longestRunningProcessorSeconds()).toBe(4);
  });

  it('counts every delayed add as a retry: backoffs and requeue-afters', () => {
    const clock = manualClock();
    const { seen, observer } = observed();
    const q = new WorkQueue('t', undefined, clock, observer);
    q.addRateLimited('a');
    q.addAfter('b', 1_000);
    expect(seen.retries).toBe(2);
    expect(seen.adds).toBe(0);
    clock.advance(1_000);
    expect(seen.adds).toBe(2);
  });
});
