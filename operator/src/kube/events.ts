import { randomBytes } from 'node:crypto';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Api } from './api.js';
import type { CachedObject } from './informer.js';
import { Resources } from './resources.js';

export type EventType = 'Normal' | 'Warning';

/**
 * Records events.k8s.io/v1 Events on transitions, as `kubectl describe` and `kubectl events` show them. Events are
 * best effort: a failure to record one is logged and never fails a reconcile. Notes are built from names, never
 * from secret values.
 */
export class EventRecorder {
  constructor(
    private readonly api: Api,
    private readonly opts: { controller: string; instance: string; log: Logger },
  ) {}

  emit(regarding: CachedObject, type: EventType, reason: string, action: string, note: string): void {
    const now = new Date();
    const namespace = regarding.metadata.namespace ?? 'default';
    const event = {
      metadata: {
        name: `${regarding.metadata.name}.${now.getTime().toString(16)}${randomBytes(2).toString('hex')}`,
        namespace,
      },
      eventTime: now.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z'),
      reportingController: this.opts.controller,
      reportingInstance: this.opts.instance,
      action,
      reason,
      type,
      note: note.slice(0, 1000),
      regarding: {
        apiVersion: regarding.apiVersion,
        kind: regarding.kind,
        name: regarding.metadata.name,
        namespace: regarding.metadata.namespace,
        uid: regarding.metadata.uid,
        resourceVersion: regarding.metadata.resourceVersion,
      },
    };
    this.api.create(Resources.Event, event).catch((err: unknown) => {
      this.opts.log.debug({ reason, err: errorMessage(err) }, 'could not record an event');
    });
  }
}
