import { describe, expect, it } from 'vitest';
import { OperatorError } from '../errors.js';
import type { Api } from '../kube/api.js';
import type { CachedObject } from '../kube/informer.js';
import { silentLogger } from '../log.js';
import { buildCaches } from '../caches.js';
import { loadConfig } from '../config.js';
import { AcceptHandler } from './accept.js';
import { hashToken } from '../domain/tokens.js';

const token = 'T'.repeat(43);
const now = new Date('2026-12-01T12:00:00Z');

/** An invitation as the API server holds it, at a version. */
const invitation = (resourceVersion: string, phase: string): CachedObject => ({
  metadata: { name: 'dana', namespace: 'acme', uid: 'u-1', resourceVersion, generation: 1 },
  spec: { workspace: 'web', email: 'dana@client.example' },
  status: { phase, tokenHash: hashToken(token), expiresAt: '2026-12-08T12:00:00Z' },
});

/** An API whose invitation changes once under the first accept (the operator's Sent write landing in between). */
function racingApi() {
  let current = invitation('10', 'Pending');
  let writes = 0;
  const api = {
    get: async (r: { kind: string }) => {
      if (r.kind === 'ClientInvitation') return current;
      if (r.kind === 'Account')
        return {
          metadata: { name: 'acme' },
          spec: { displayName: 'Acme', teammates: [{ email: 'o@acme.example', role: 'Owner' }] },
        };
      return { metadata: { name: 'web' } };
    },
    replace: async (_r: unknown, obj: CachedObject) => {
      writes++;
      if (writes === 1) {
        current = invitation('11', 'Pending');
        throw new OperatorError('Conflict', 'the object has been modified', { status: 409 });
      }
      if (obj.metadata.resourceVersion !== current.metadata.resourceVersion)
        throw new OperatorError('Conflict', 'the object has been modified', { status: 409 });
      current = { ...obj, metadata: { ...obj.metadata, resourceVersion: '12' } };
      return current;
    },
  } as unknown as Api;
  return { api, writes: () => writes };
}

/** The operator's real caches (never started: the test puts the invitation in), over the racing API. */
function handler(api: Api) {
  const caches = buildCaches(api, loadConfig({ DATABASE_URL: 'postgres://u:p@h/db' }), silentLogger);
  caches.invitations.observe(invitation('10', 'Pending'));
  return new AcceptHandler({
    api,
    caches,
    claims: { reserve: async () => ({ ok: true }) },
    events: { emit: () => {} },
    tokens: { lookup: () => 'acme/dana' },
    now: () => now,
    log: silentLogger,
  });
}

describe('accepting an invitation', () => {
  it('decides again when another writer changed the invitation meanwhile, so the person is not told to retry', async () => {
    const { api, writes } = racingApi();
    const accept = handler(api);
    expect(await accept.accept(token)).toMatchObject({ status: 200, outcome: 'accepted' });
    expect(writes()).toBe(2);
    // The link works once: a second use is refused.
    const again = await accept.accept(token);
    expect(again.outcome).not.toBe('accepted');
    expect(again.status).toBeGreaterThanOrEqual(400);
  });

  it('shows what a link opens without accepting it: display names for the page, and no write', async () => {
    const { api, writes } = racingApi();
    const preview = await handler(api).preview(token);
    expect(preview).toMatchObject({
      status: 200,
      outcome: 'pending',
      workspace: 'web',
      account: 'acme',
      // The account's display name; the workspace's slug, since that Workspace has no spec to read one from.
      view: {
        agency: 'Acme',
        workspace: 'web',
        email: 'dana@client.example',
        expiresAt: '2026-12-08T12:00:00Z',
      },
    });
    expect(writes()).toBe(0);
  });
});
