import { describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import type { Api } from './api.js';
import { Informer, type CachedObject } from './informer.js';
import { Resources } from './resources.js';

const invitation = (resourceVersion: string, phase: string): CachedObject => ({
  metadata: { name: 'dana', namespace: 'acme', resourceVersion },
  status: { phase },
});

/** An API whose list answers one object and whose watch delivers what the test sends. */
function fakeApi() {
  let send: (doc: unknown) => void = () => {};
  let watching: () => void = () => {};
  const watchOpen = new Promise<void>((resolve) => (watching = resolve));
  const api = {
    pages: async function* () {
      yield { items: [invitation('10', 'Pending')], resourceVersion: '10' };
    },
    client: {
      stream: (_req: unknown, onDoc: (doc: unknown) => void, signal: AbortSignal) => {
        send = onDoc;
        watching();
        return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      },
    },
  } as unknown as Api;
  return { api, watchOpen, send: (type: string, obj: CachedObject) => send({ type, object: obj }) };
}

describe('Informer', () => {
  it('stops when the stop comes while its first list is in flight, without opening a watch', async () => {
    let answer: () => void = () => {};
    let listing: () => void = () => {};
    const listed = new Promise<void>((resolve) => (listing = resolve));
    let watches = 0;
    const api = {
      pages: async function* () {
        listing();
        yield await new Promise((resolve) => {
          answer = () => resolve({ items: [invitation('10', 'Pending')], resourceVersion: '10' });
        });
      },
      client: {
        stream: (_req: unknown, _onDoc: unknown, signal: AbortSignal) => {
          watches++;
          return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
        },
      },
    } as unknown as Api;
    const informer = new Informer(api, Resources.ClientInvitation, { log: silentLogger });
    const abort = new AbortController();
    const running = informer.run(abort.signal);
    await listed;
    abort.abort();
    answer();
    await running;
    expect(watches).toBe(0);
    // A wait for the sync that starts after the stop is refused at once rather than left pending.
    const fresh = new Informer(api, Resources.ClientInvitation, { log: silentLogger });
    await expect(fresh.waitForSync(abort.signal)).rejects.toThrow(/did not sync/);
  });

  it('tells the handlers about a version the operator wrote once, whether the write or the watch comes first', async () => {
    const { api, watchOpen, send } = fakeApi();
    const informer = new Informer(api, Resources.ClientInvitation, { log: silentLogger });
    const seen: string[] = [];
    informer.on({
      add: (o) => seen.push(`add ${o.metadata.resourceVersion}`),
      update: (_, o) => seen.push(`update ${o.metadata.resourceVersion}`),
    });
    const abort = new AbortController();
    const running = informer.run(abort.signal);
    await informer.waitForSync();
    await watchOpen;

    // The write's answer first, then its watch event: one update, not none and not two.
    informer.observe(invitation('11', 'Accepted'));
    send('MODIFIED', invitation('11', 'Accepted'));
    // The watch first, then the write's answer.
    send('MODIFIED', invitation('12', 'Revoked'));
    informer.observe(invitation('12', 'Revoked'));
    // A version older than the cache's does not take the cache back.
    send('MODIFIED', invitation('11', 'Accepted'));

    expect(seen).toEqual(['add 10', 'update 11', 'update 12']);
    expect((informer.get('acme/dana')?.status as { phase: string }).phase).toBe('Revoked');
    abort.abort();
    await running;
  });

  it('keeps out what its policy does not admit, trims what it does, and drops an object that stops qualifying', async () => {
    const { api, watchOpen, send } = fakeApi();
    const informer = new Informer(api, Resources.ClientInvitation, {
      log: silentLogger,
      admit: (o) => o.metadata.labels?.mine === 'yes',
      trim: (o) => ({ metadata: { ...o.metadata, annotations: undefined } }),
    });
    const seen: string[] = [];
    informer.on({
      add: (o) => seen.push(`add ${o.metadata.name}`),
      delete: (o) => seen.push(`delete ${o.metadata.name}`),
    });
    const abort = new AbortController();
    const running = informer.run(abort.signal);
    await informer.waitForSync();
    await watchOpen;
    const obj = (name: string, rv: string, mine: string): CachedObject => ({
      metadata: {
        name,
        namespace: 'acme',
        resourceVersion: rv,
        labels: { mine },
        annotations: { big: 'x'.repeat(1000) },
      },
    });

    send('ADDED', obj('forged', '20', 'no'));
    send('ADDED', obj('ours', '21', 'yes'));
    expect(informer.get('acme/forged')).toBeUndefined();
    expect(informer.get('acme/ours')?.metadata.annotations).toBeUndefined();
    // Relabelled by someone else: it leaves the cache, and its owner hears of it as a deletion (and repairs it).
    send('MODIFIED', obj('ours', '22', 'no'));
    expect(informer.get('acme/ours')).toBeUndefined();
    send('DELETED', obj('forged', '23', 'no'));
    expect(seen).toEqual(['add ours', 'delete ours']);
    abort.abort();
    await running;
  });

  it('takes in each page of its list before it asks for the next, so it never holds the whole collection as sent', async () => {
    const cachedWhenAsked: number[] = [];
    let cached = () => 0;
    const page = (n: number) =>
      Array.from({ length: 3 }, (_, i) => ({
        metadata: { name: `w${n}-${i}`, namespace: 'acme', resourceVersion: '30', managedFields: [{}] },
      }));
    const api = {
      pages: async function* () {
        for (let n = 0; n < 3; n++) {
          await Promise.resolve();
          cachedWhenAsked.push(cached());
          yield { items: page(n), resourceVersion: '30' };
        }
      },
      client: {
        stream: (_req: unknown, _onDoc: unknown, signal: AbortSignal) =>
          new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve())),
      },
    } as unknown as Api;
    const informer = new Informer(api, Resources.ClientInvitation, { log: silentLogger });
    cached = () => informer.size;
    const abort = new AbortController();
    const running = informer.run(abort.signal);
    await informer.waitForSync();
    expect(cachedWhenAsked).toEqual([0, 3, 6]);
    expect(informer.size).toBe(9);
    expect(informer.get('acme/w2-2')?.metadata.managedFields).toBeUndefined();
    abort.abort();
    await running;
  });

  it('does not bring back an object deleted meanwhile when a write of it answers late, but takes a re-created one', async () => {
    const { api, watchOpen, send } = fakeApi();
    const informer = new Informer(api, Resources.ClientInvitation, { log: silentLogger });
    const seen: string[] = [];
    informer.on({ add: (o) => seen.push(`add ${o.metadata.resourceVersion}`) });
    const abort = new AbortController();
    const running = informer.run(abort.signal);
    await informer.waitForSync();
    await watchOpen;

    // A status write at version 11, then the delete (12) whose watch event comes before the write's answer.
    send('DELETED', invitation('12', 'Pending'));
    informer.observe(invitation('11', 'Sent'));
    expect(informer.get('acme/dana')).toBeUndefined();
    // The same name created again is a newer version: it is taken.
    informer.observe(invitation('20', 'Pending'));
    expect(informer.get('acme/dana')?.metadata.resourceVersion).toBe('20');
    expect(seen).toEqual(['add 10', 'add 20']);
    abort.abort();
    await running;
  });
});

describe('Informer against a server that answers every watch with 410 Gone', () => {
  it('lists again at once the first time, then backs off instead of listing in a loop', async () => {
    let lists = 0;
    const api = {
      pages: async function* () {
        lists++;
        yield { items: [invitation('10', 'Pending')], resourceVersion: '10' };
      },
      client: {
        stream: async (_req: unknown, onDoc: (doc: unknown) => void) => {
          onDoc({ type: 'ERROR', object: { code: 410, message: 'too old resource version' } });
        },
      },
    } as unknown as Api;
    const informer = new Informer(api, Resources.ClientInvitation, { log: silentLogger });
    const abort = new AbortController();
    const running = informer.run(abort.signal);
    await new Promise((r) => setTimeout(r, 1_000));
    abort.abort();
    await running;
    // Without a backoff this is thousands; with it: the first list, one at once, then 250, 500 ms later.
    expect(lists).toBeGreaterThanOrEqual(2);
    expect(lists).toBeLessThanOrEqual(5);
  });
});
