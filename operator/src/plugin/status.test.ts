import { describe, expect, it } from 'vitest';
import { age, renderStatus, unready } from './status.js';
import type { AccountView } from './view.js';

const now = new Date('2026-05-01T12:00:00Z');
const cond = (type: string, status: 'True' | 'False', reason: string, message: string) => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: '2026-05-01T11:00:00Z',
  observedGeneration: 1,
});
const meta = (name: string, namespace?: string) => ({
  name,
  namespace,
  generation: 1,
  creationTimestamp: '2026-05-01T11:55:00Z',
});

const view: AccountView = {
  name: 'acme',
  namespace: 'acme',
  account: {
    apiVersion: 'taskjuice.io/v1alpha1',
    kind: 'Account',
    metadata: meta('acme'),
    spec: {
      displayName: 'Acme',
      plan: 'growth',
      teammates: [{ email: 'olivia@acme.example', role: 'Owner' }],
    },
    status: {
      namespace: 'acme',
      plan: { name: 'growth', resolved: true, workspaceLimit: 5, limitSource: 'Plan' },
      workspaceCount: 2,
      conditions: [cond('Ready', 'True', 'Ready', 'ok')],
    },
  },
  workspaces: [
    {
      apiVersion: 'taskjuice.io/v1alpha1',
      kind: 'Workspace',
      metadata: meta('web', 'acme'),
      spec: { displayName: 'Web', betaOptIn: true, approvalTimeoutSeconds: 86400 },
      status: {
        phase: 'Ready',
        namespace: 'acme-web-abc',
        clients: ['carla@client.example'],
        conditions: [cond('Ready', 'True', 'Ready', 'ok')],
      },
    },
    {
      apiVersion: 'taskjuice.io/v1alpha1',
      kind: 'Workspace',
      metadata: meta('shop', 'acme'),
      spec: { displayName: 'Shop', betaOptIn: true, approvalTimeoutSeconds: 86400 },
      status: {
        phase: 'Provisioning',
        conditions: [
          cond('Ready', 'False', 'DatabaseUnavailable', 'the database does not answer'),
          cond('Stalled', 'True', 'OverPlanLimit', 'plan growth allows 5 workspaces'),
        ],
      },
    },
  ],
  invitations: [
    {
      apiVersion: 'taskjuice.io/v1alpha1',
      kind: 'ClientInvitation',
      metadata: meta('carla', 'acme'),
      spec: { workspace: 'web', email: 'carla@client.example', revoked: false, resendRevision: 0 },
      status: {
        phase: 'Pending',
        expiresAt: '2026-05-08T11:55:00Z',
        conditions: [cond('Ready', 'True', 'Sent', 'sent')],
      },
    },
  ],
  connections: [],
};

describe('kubectl taskjuice status', () => {
  it('summarises the account and lists each kind, then what is not Ready with the reason a person acts on', () => {
    const text = renderStatus(view, now, { server: 'https://127.0.0.1:6443' });
    expect(text).toMatch(/^Account Summary\nAccount: +acme \(Acme\)/);
    expect(text).toMatch(/Plan: +growth\n/);
    expect(text).toMatch(/Workspace limit: +5 \(from Plan\)/);
    expect(text).toMatch(/Workspaces: +2 of 5/);
    expect(text).toMatch(
      /NAME +PHASE +NAMESPACE +CLIENTS +READY +AGE\nweb +Ready .*\nshop +Provisioning +acme-shop-\w+ +- +False +5m\n/,
    );
    expect(text).toMatch(/web +Ready +acme-web-abc +carla@client.example +True +5m/);
    expect(text).toMatch(/carla +web +carla@client.example +Pending/);
    expect(text).toMatch(/Connections \(0\)\nnone/);
    expect(text).toMatch(
      /Not Ready \(1\)\nKIND +NAME +CONDITION +REASON +MESSAGE\nWorkspace +shop +Stalled=True +OverPlanLimit +plan growth allows 5 workspaces/,
    );
  });

  it('counts an object without status, or Ready for an older generation, as not Ready', () => {
    const first = view.workspaces[0];
    if (!first) throw new Error('no workspace');
    const stale = { ...first, metadata: { ...first.metadata, generation: 2 } };
    const bare = { ...first, metadata: meta('new', 'acme'), status: undefined };
    const found = unready({ ...view, workspaces: [stale, bare] });
    expect(found.map((u) => [u.name, u.reason])).toEqual([
      ['web', 'Ready'],
      ['new', 'NoStatus'],
    ]);
  });

  it('shows what is in the home namespace to a teammate who may not read the Account', () => {
    const text = renderStatus(
      { ...view, account: undefined, accountDenied: 'accounts "acme" is forbidden' },
      now,
      { server: 'https://127.0.0.1:6443', as: 'olivia@acme.example' },
    );
    expect(text).toMatch(
      /Account: +acme \(the Account itself cannot be read: accounts "acme" is forbidden\)/,
    );
    expect(text).toMatch(/Cluster: +https:\/\/127.0.0.1:6443, as olivia@acme.example/);
    expect(text).toMatch(/Workspaces: +2\n/);
    expect(text).toMatch(/web +Ready +acme-web-abc/);
  });

  it('prints ages as kubectl does', () => {
    expect(age('2026-05-01T11:59:15Z', now)).toBe('45s');
    expect(age('2026-05-01T09:00:00Z', now)).toBe('3h');
    expect(age('2026-04-20T12:00:00Z', now)).toBe('11d');
  });
});
