import { AsyncLocalStorage } from 'node:async_hooks';

/** The object a watch event is about, to tell whether a running pass wrote it. */
export interface EventSource {
  /** The informer's id: two kinds can hold objects of the same key. */
  informer: number;
  objectKey: string;
  version: string | undefined;
  deleted: boolean;
}

/**
 * Events held beyond this many mean "run again" without looking further: a tenant who updates its object over and
 * over during a long pass cannot grow the operator's memory, and one more pass is all that costs.
 */
const MAX_HELD = 1_000;

/**
 * One reconcile of one key: what it wrote, and the watch events for its key that arrived while it ran.
 *
 * A write's watch event can come before the write's answer (they travel on two connections), so while the pass
 * runs nobody can tell the event of its own write from someone else's change. The events wait here; when the pass
 * ends, an event whose object version the pass itself wrote is dropped (the pass knew that state, it made it), and
 * any other queues the key once more. Events that come after the answer find that version in the cache already and
 * reach no handler (see Informer.observe).
 */
export class Pass {
  /** `informer id / object key @ version` of every object the pass wrote, and `… @deleted` for what it deleted. */
  private readonly wrote = new Set<string>();
  /** The events held back: whether each is the pass's own is decided at the end, when every answer is in. */
  private readonly held: { mark: string; delayMs?: number }[] = [];
  private overflowed = false;

  /** The pass wrote this version of an object (its answer reached the cache). */
  noteWrite(informer: number, objectKey: string, version: string | undefined): void {
    if (version) this.wrote.add(mark(informer, objectKey, version));
  }

  /** The pass deleted an object. */
  noteDelete(informer: number, objectKey: string): void {
    this.wrote.add(mark(informer, objectKey, DELETED));
  }

  /** An event that maps to this pass's key arrived while it ran. */
  hold(source: EventSource, delayMs?: number): void {
    if (this.held.length >= MAX_HELD) this.overflowed = true;
    if (this.overflowed) return;
    const version = source.deleted ? DELETED : (source.version ?? '');
    this.held.push({ mark: mark(source.informer, source.objectKey, version), delayMs });
  }

  /**
   * After the pass: whether some held event was not its own, and so the key must run again (with the shortest
   * delay those events asked for; undefined for none).
   */
  changedByOthers(): { again: boolean; delayMs?: number } {
    if (this.overflowed) return { again: true };
    let again = false;
    let delayMs: number | undefined;
    for (const event of this.held) {
      if (this.wrote.has(event.mark)) continue;
      if (event.delayMs === undefined) return { again: true };
      again = true;
      delayMs = delayMs === undefined ? event.delayMs : Math.min(delayMs, event.delayMs);
    }
    return { again, delayMs };
  }
}

const DELETED = 'deleted';
const mark = (informer: number, objectKey: string, version: string) => `${informer}/${objectKey}@${version}`;

/** The pass the current code runs in, if any. */
export const passes = new AsyncLocalStorage<Pass>();
