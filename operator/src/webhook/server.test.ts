import { describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { Metrics } from '../metrics.js';
import { answerReview, kindLabel } from './server.js';
import { resolvePlan } from '../domain/plans.js';
import type { WebhookView } from './view.js';

const view: WebhookView = {
  account: async () => undefined,
  workspaceExists: async () => false,
  workspaceCached: () => undefined,
  workspaceCount: () => 0,
  hasWorkspace: () => false,
  workspacesLive: async () => ({ count: 0, names: [] }),
  admitWorkspace: () => {},
  clients: () => new Map(),
  connections: () => [],
  plan: (spec) => resolvePlan(spec, {}),
  namespaceLabels: async () => undefined,
  isSystem: () => false,
};

const review = (i: number, kind: string) =>
  Buffer.from(
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: `uid-${i}`,
        kind: { group: 'taskjuice.io', version: 'v1alpha1', kind },
        resource: { group: 'taskjuice.io', version: 'v1alpha1', resource: 'things' },
        operation: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'][i % 4],
        name: 'x',
        namespace: 'acme',
        userInfo: { username: 'mallory' },
        object: { metadata: { name: 'x' } },
      },
    }),
  );

describe('kindLabel', () => {
  it('keeps the kinds the webhook serves and calls everything else other', () => {
    expect(kindLabel('Workspace')).toBe('Workspace');
    expect(kindLabel('Namespace')).toBe('Namespace');
    expect(kindLabel('workspace')).toBe('other');
    expect(kindLabel('Pod')).toBe('other');
  });
});

describe('answerReview metrics', () => {
  it('1,000 reviews with random kinds leave the request counter with a handful of series', async () => {
    const metrics = new Metrics();
    const deps = {
      view,
      claims: { reserve: async () => ({ ok: true as const }) },
      log: createLogger('silent'),
      metrics,
    };
    for (let i = 0; i < 1000; i++) {
      await answerReview(review(i, `Kind${Math.random().toString(36).slice(2)}`), deps);
    }
    const series = (
      await metrics.registry.getSingleMetric('workspace_operator_webhook_requests_total')?.get()
    )?.values;
    expect(await metrics.total('workspace_operator_webhook_requests_total')).toBe(1000);
    // kind is always "other"; operation takes four values and allowed two.
    expect(series?.length).toBeLessThanOrEqual(8);
    expect(new Set(series?.map((v) => v.labels.kind))).toEqual(new Set(['other']));
  });

  it('counts what it could not decide on by reason: not JSON, a malformed review, a validator that threw', async () => {
    const metrics = new Metrics();
    // A view whose every read fails, as when the caches cannot answer.
    const broken = new Proxy(view, {
      get: () => () => {
        throw new Error('cache unavailable');
      },
    });
    const deps = {
      view: broken,
      claims: { reserve: async () => ({ ok: true as const }) },
      log: createLogger('silent'),
      metrics,
    };
    await answerReview(Buffer.from('not json'), deps);
    await answerReview(Buffer.from(JSON.stringify({ request: { uid: 'u1' } })), deps);
    const denied = await answerReview(review(0, 'Workspace'), deps);
    const errors = (reason: string) => metrics.total('workspace_operator_webhook_errors_total', { reason });
    expect(await errors('bad_request')).toBe(1);
    expect(await errors('malformed')).toBe(1);
    expect(await errors('validation_failed')).toBe(1);
    expect(JSON.stringify(denied.body)).toContain('could not validate the request');
  });
});
