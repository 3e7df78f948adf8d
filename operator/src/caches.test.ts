import { describe, expect, it } from 'vitest';
import { accountBindings, homeNamespace, workspaceQuota } from './controllers/account/desired.js';
import {
  clientsBinding,
  credentialsSecret,
  isolationPolicy,
  staffBinding,
  workspaceLimitRange,
  workspaceNamespaceObject,
  workspaceQuota as workspaceResourceQuota,
} from './controllers/workspace/desired.js';
import { tenantNames, workspaceNamespace } from './db/names.js';
import { MAX_SECRET_VALUE_BYTES, isOperatorChild, trimChild } from './caches.js';
import type { CachedObject } from './kube/informer.js';
import { contains } from './kube/ownership.js';

const account = { metadata: { name: 'acme', uid: 'u-1' } };
const ns = workspaceNamespace('acme', 'web');
const endpoint = { host: 'db', port: 5432, database: 'workspaces', sslMode: undefined };

/** Every object the operator writes, with the kind the informer sets on arrival. */
function operatorObjects(): CachedObject[] {
  const bindings = accountBindings('acme', [{ email: 'o@acme.example', role: 'Owner' }], {
    manager: 'm',
    member: 'n',
  }).flatMap((b) => (b.desired ? [b.desired] : []));
  return [
    { kind: 'Namespace', ...homeNamespace(account, 'restricted') },
    { kind: 'Namespace', ...workspaceNamespaceObject(account, 'web', ns, 'restricted') },
    {
      kind: 'ResourceQuota',
      ...workspaceResourceQuota(ns, 'acme', 'web', { pods: '50', 'requests.cpu': '4' })!,
    },
    {
      kind: 'LimitRange',
      ...workspaceLimitRange(ns, 'acme', 'web', {
        default: { cpu: '500m' },
        defaultRequest: { cpu: '100m' },
      })!,
    },
    ...bindings.map((b) => ({ kind: 'RoleBinding', ...b })),
    { kind: 'RoleBinding', ...staffBinding(ns, 'acme', 'web', ['s@acme.example'], 'staff')! },
    { kind: 'RoleBinding', ...clientsBinding(ns, 'acme', 'web', ['c@client.example'], 'view')! },
    { kind: 'NetworkPolicy', ...isolationPolicy(ns, 'acme', 'web') },
    {
      kind: 'Secret',
      ...credentialsSecret(ns, 'acme', 'web', tenantNames('ws', 'acme', 'web'), 'p'.repeat(43), endpoint),
    },
    { kind: 'ResourceQuota', ...workspaceQuota('acme', 5) },
  ];
}

describe('the cache policy', () => {
  it('admits every object the operator writes and keeps all it wrote, so a second pass writes nothing', () => {
    for (const obj of operatorObjects()) {
      expect(isOperatorChild(obj), `${obj.kind} ${obj.metadata.name}`).toBe(true);
      expect(contains(trimChild(obj), obj), `${obj.kind} ${obj.metadata.name}`).toBe(true);
    }
  });

  it('refuses look-alikes a tenant can make: other names, other namespaces, labels of another workspace', () => {
    const labels = { 'app.kubernetes.io/managed-by': 'workspace-operator' };
    const secret = (name: string, namespace: string, extra: Record<string, string>): CachedObject => ({
      kind: 'Secret',
      metadata: { name, namespace, labels: { ...labels, ...extra } },
    });
    const ws = {
      'taskjuice.io/account': 'acme',
      'taskjuice.io/workspace': 'web',
      'taskjuice.io/component': 'workspace',
    };
    expect(isOperatorChild(secret('database-credentials', ns, ws))).toBe(true);
    expect(isOperatorChild(secret('padding-1', ns, ws))).toBe(false);
    expect(isOperatorChild(secret('database-credentials', 'tenant-own', ws))).toBe(false);
    expect(
      isOperatorChild(secret('database-credentials', ns, { ...ws, 'taskjuice.io/workspace': 'other' })),
    ).toBe(false);
    expect(isOperatorChild(secret('database-credentials', ns, labels))).toBe(false);
    expect(
      isOperatorChild({
        kind: 'NetworkPolicy',
        metadata: { name: 'allow-all', namespace: ns, labels: { ...labels, ...ws } },
      }),
    ).toBe(false);
  });

  it('keeps of a padded object only the labels, annotations and bounded entries the operator reads', () => {
    const written = operatorObjects().find((o) => o.kind === 'Secret')!;
    const padded: CachedObject = {
      ...written,
      metadata: {
        ...written.metadata,
        labels: {
          ...written.metadata.labels,
          ...Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`x/k${i}`, 'v'])),
        },
        annotations: { junk: 'x'.repeat(200_000), 'taskjuice.io/rotate-credentials': '1' },
      },
      data: {
        ...(written.data as Record<string, string>),
        padding: 'A'.repeat(900 * 1024),
        password: 'B'.repeat(MAX_SECRET_VALUE_BYTES + 1),
      },
    };
    const kept = trimChild(padded);
    expect(JSON.stringify(kept).length).toBeLessThan(4096);
    expect(kept.metadata.annotations).toEqual({ 'taskjuice.io/rotate-credentials': '1' });
    expect(Object.keys(kept.metadata.labels ?? {}).some((k) => k.startsWith('x/'))).toBe(false);
  });
});
