/**
 * What an account's size costs the webhook (issue 12, item 6): reviews of a workspace create, an invitation create
 * and an account update, decided on caches that hold an account of 5 workspaces or of 1,000 with 100 invitations.
 * In-process (no API server: the caches are filled as the watch would fill them), so it measures the decision
 * alone. It prints microseconds per review for each size and their ratio; the target is a ratio of about 1.
 *
 *   npm run bench:accounts -- [--workspaces 1000] [--invitations 100] [--reviews 20000]
 */
import { parseArgs } from 'node:util';
import { buildCaches } from '../../src/caches.js';
import { loadConfig } from '../../src/config.js';
import type { Api } from '../../src/kube/api.js';
import type { CachedObject } from '../../src/kube/informer.js';
import { silentLogger } from '../../src/log.js';
import { CacheView } from '../../src/webhook/cache-view.js';
import type { AdmissionRequest } from '../../src/webhook/review.js';
import { validateAccount } from '../../src/webhook/validators/account.js';
import { validateInvitation } from '../../src/webhook/validators/invitation.js';
import { validateWorkspace } from '../../src/webhook/validators/workspace.js';
import { wholeNumber } from './common.js';

const { values: args } = parseArgs({
  options: {
    workspaces: { type: 'string', default: '1000' },
    invitations: { type: 'string', default: '100' },
    reviews: { type: 'string', default: '20000' },
  },
});
const BIG = wholeNumber('workspaces', args.workspaces);
const INVITATIONS = wholeNumber('invitations', args.invitations, 0);
const REVIEWS = wholeNumber('reviews', args.reviews);
const OWNER = 'owner@acme.example';
const GROUP = 'taskjuice.io';

const meta = (name: string, namespace: string | undefined, rv: number) => ({
  name,
  namespace,
  uid: `uid-${namespace ?? ''}-${name}`,
  resourceVersion: String(rv),
  creationTimestamp: '2026-12-01T00:00:00Z',
});

const accountSpec = (workspaceLimit: number) => ({
  displayName: 'Acme',
  plan: 'growth',
  workspaceLimit,
  teammates: [{ email: OWNER, role: 'Owner' }],
});

function view(workspaces: number, invitations: number): CacheView {
  const config = loadConfig({ DATABASE_URL: 'postgres://db/workspaces' });
  const caches = buildCaches({} as Api, config, silentLogger);
  let rv = 1;
  caches.accounts.observe({
    apiVersion: `${GROUP}/v1alpha1`,
    kind: 'Account',
    metadata: meta('acme', undefined, rv++),
    spec: accountSpec(workspaces + 10),
  } as CachedObject);
  for (let i = 0; i < workspaces; i++) {
    caches.workspaces.observe({
      apiVersion: `${GROUP}/v1alpha1`,
      kind: 'Workspace',
      metadata: meta(`ws-${i}`, 'acme', rv++),
      spec: { displayName: `Workspace ${i}` },
    } as CachedObject);
  }
  for (let i = 0; i < invitations; i++) {
    caches.invitations.observe({
      apiVersion: `${GROUP}/v1alpha1`,
      kind: 'ClientInvitation',
      metadata: meta(`inv-${i}`, 'acme', rv++),
      spec: { workspace: `ws-${i % Math.max(1, workspaces)}`, email: `client-${i}@client.example` },
      status: { phase: 'Accepted' },
    } as CachedObject);
  }
  return new CacheView(caches, {} as Api, config, 'system:serviceaccount:taskjuice:operator');
}

const request = (kind: string, resource: string, operation: 'CREATE' | 'UPDATE', object: unknown) =>
  ({
    uid: 'u',
    kind: { group: GROUP, version: 'v1alpha1', kind },
    resource: { group: GROUP, version: 'v1alpha1', resource },
    namespace: 'acme',
    operation,
    userInfo: { username: OWNER, groups: [] },
    object,
    oldObject: operation === 'UPDATE' ? object : undefined,
  }) as AdmissionRequest;

const reviews = [
  {
    name: 'workspace create',
    run: (v: CacheView) =>
      validateWorkspace(
        request('Workspace', 'workspaces', 'CREATE', {
          apiVersion: `${GROUP}/v1alpha1`,
          kind: 'Workspace',
          metadata: { name: 'new-one', namespace: 'acme' },
          spec: { displayName: 'New' },
        }),
        v,
      ),
  },
  {
    name: 'invitation create',
    run: (v: CacheView) =>
      validateInvitation(
        request('ClientInvitation', 'clientinvitations', 'CREATE', {
          apiVersion: `${GROUP}/v1alpha1`,
          kind: 'ClientInvitation',
          metadata: { name: 'new-inv', namespace: 'acme' },
          spec: { workspace: 'ws-0', email: 'new@client.example' },
        }),
        v,
      ),
  },
  {
    name: 'account update',
    run: (v: CacheView) =>
      validateAccount(
        {
          ...request('Account', 'accounts', 'UPDATE', {
            apiVersion: `${GROUP}/v1alpha1`,
            kind: 'Account',
            metadata: { name: 'acme' },
            spec: accountSpec(2000),
          }),
          namespace: undefined,
          userInfo: { username: 'support@platform.example', groups: [] },
        },
        v,
      ),
  },
];

async function microsPerReview(v: CacheView, run: (v: CacheView) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 500; i++) await run(v); // warm-up
  const started = process.hrtime.bigint();
  for (let i = 0; i < REVIEWS; i++) await run(v);
  return Number(process.hrtime.bigint() - started) / 1000 / REVIEWS;
}

const small = view(5, 5);
const big = view(BIG, INVITATIONS);
console.log(`\nwebhook review cost by account size (${REVIEWS} reviews each, in-process)\n`);
console.log(
  `  ${'review'.padEnd(20)} ${'5 ws, 5 inv'.padStart(14)} ${`${BIG} ws, ${INVITATIONS} inv`.padStart(18)}  ratio  target`,
);
for (const r of reviews) {
  const verdict = await r.run(big);
  // Alternated and the best of three, so neither size gets the JIT's warm-up or a noisy moment alone.
  const a = Math.min(await microsPerReview(small, r.run), await microsPerReview(small, r.run));
  const b = Math.min(await microsPerReview(big, r.run), await microsPerReview(big, r.run));
  const a2 = await microsPerReview(small, r.run);
  const b2 = await microsPerReview(big, r.run);
  const best = [Math.min(a, a2), Math.min(b, b2)] as const;
  const ratio = best[1] / best[0];
  console.log(
    `  ${r.name.padEnd(20)} ${`${best[0].toFixed(1)} µs`.padStart(14)} ${`${best[1].toFixed(1)} µs`.padStart(18)}  ${ratio.toFixed(2).padStart(5)}  ≤ 1.5 ${ratio <= 1.5 ? 'ok' : 'MISSED'}  (${(verdict as { allowed?: boolean }).allowed === false ? 'denied' : 'allowed'})`,
  );
}
