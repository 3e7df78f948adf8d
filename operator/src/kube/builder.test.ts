import { describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import type { Api } from './api.js';
import { Watches } from './builder.js';
import { Controller } from './controller.js';
import { Informer, type CachedObject } from './informer.js';
import { Resources } from './resources.js';

const version = (name: string, resourceVersion: string, phase?: string): CachedObject => ({
  metadata: { name, namespace: 'acme', resourceVersion },
  ...(phase ? { status: { phase } } : {}),
});

/** An informer over a list of one object and a watch the test feeds. */
function informer() {
  let send: (doc: unknown) => void = () => {};
  const api = {
    pages: async function* () {
      yield { items: [version('web', '1')], resourceVersion: '1' };
    },
    client: {
      stream: (_req: unknown, onDoc: (doc: unknown) => void, signal: AbortSignal) => {
        send = onDoc;
        return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      },
    },
  } as unknown as Api;
  const inf = new Informer(api, Resources.Workspace, { log: silentLogger });
  return { inf, send: (obj: CachedObject) => send({ type: 'MODIFIED', object: obj }) };
}

const settle = () => new Promise((r) => setTimeout(r, 50));

/**
 * A controller over the test's informer whose reconcile is `write`, started. Its passes are counted, and bounded so
 * that a controller looping on its own writes fails the test instead of hanging it.
 */
async function controlled(inf: Informer, workers: number, write: (passes: number) => Promise<void> | void) {
  const passes: string[] = [];
  const controller = new Controller(
    {
      name: 'test',
      async reconcile(key) {
        passes.push(key);
        if (passes.length <= 5) await write(passes.length);
      },
    },
    { workers, log: silentLogger, metrics: new Metrics() },
  );
  new Watches(controller).for(inf);
  const abort = new AbortController();
  const running = inf.run(abort.signal);
  await inf.waitForSync();
  controller.start();
  const stop = async () => {
    await controller.stop();
    abort.abort();
    await running;
  };
  return { passes, stop };
}

describe('one reconcile per change', () => {
  it("does not queue a key again for its own reconcile's writes, and does for anyone else's change", async () => {
    const { inf, send } = informer();
    let rv = 1;
    // The pass writes the object's status; the write's answer goes into the cache, as StatusWriter does.
    const { passes, stop } = await controlled(inf, 2, () =>
      inf.observe(version('web', String(++rv), 'Ready')),
    );
    await settle();
    expect(passes).toEqual(['acme/web']);

    // The watch event of the operator's own write: the cache holds that version already, nothing is queued.
    send(version('web', String(rv), 'Ready'));
    await settle();
    expect(passes).toEqual(['acme/web']);

    // Someone else changes it: one more pass, which again does not bring itself back.
    send(version('web', String(++rv)));
    await settle();
    expect(passes).toEqual(['acme/web', 'acme/web']);
    await stop();
  });
});

describe('events that arrive while the pass runs', () => {
  it('drops the watch event of its own write that comes before the answer, and reruns for a change by anyone else', async () => {
    const { inf, send } = informer();
    let rv = 1;
    const { passes, stop } = await controlled(inf, 1, async (pass) => {
      const written = version('web', String(++rv), 'Ready');
      // The watch delivers the write before its answer returns: the event reaches the handlers first.
      send(written);
      await settle();
      // In the second pass someone else changes the object too.
      if (pass === 2) send(version('web', String(++rv), 'Ready'));
      inf.observe(written);
    });
    await settle();
    await settle();
    expect(passes).toEqual(['acme/web']);

    // A change by someone else during the pass (a version the pass did not write): the key runs once more.
    send(version('web', String(++rv)));
    for (let i = 0; i < 5; i++) await settle();
    expect(passes).toEqual(['acme/web', 'acme/web', 'acme/web']);
    await stop();
  });
});

describe('owns with ignoreStatus', () => {
  it("brings the owner back for a child's spec change, not for a change of its status alone", async () => {
    const { inf, send } = informer();
    const queued: string[] = [];
    const controller = {
      enqueueForEvent: (k: string) => queued.push(k),
    } as unknown as Controller;
    new Watches(controller).owns([inf], () => 'acme/owner', { ignoreStatus: true });
    const abort = new AbortController();
    const running = inf.run(abort.signal);
    await inf.waitForSync();
    await settle();
    send({ ...version('web', '2'), status: { used: { pods: '1' } } });
    expect(queued).toEqual([]);
    send({ ...version('web', '3'), spec: { hard: { pods: '5' } } });
    expect(queued).toEqual(['acme/owner']);
    abort.abort();
    await running;
  });
});
