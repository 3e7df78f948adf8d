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
import { MAX_SECRET_VALUE_BYTES, buildCaches, childInformers, isOperatorChild, trimChild } from './caches.js';
import { loadConfig } from './config.js';
import type { Api } from './kube/api.js';
import { silentLogger } from './log.js';
import type { CachedObject } from './kube/informer.js';
import { holds } from './kube/apply.js';

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
      expect(holds(trimChild(obj), obj as never), `${obj.kind} ${obj.metadata.name}`).toBe(true);
    }
  });

  it('keeps of the credentials Secret its password and a digest: a changed entry reads as not holding it', () => {
    const written = operatorObjects().find((o) => o.kind === 'Secret')!;
    const data = written.data as Record<string, string>;
    const kept = trimChild({ ...written, data: { ...data, 'added-by-staff': 'eA==' } });
    expect(Object.keys(kept.data as object)).toEqual(['password']);
    expect(JSON.stringify(kept)).not.toContain(data.uri);
    // Another tool's entry does not count; a changed entry of the operator's does.
    expect(holds(kept, written as never)).toBe(true);
    const tampered = trimChild({
      ...written,
      data: { ...data, host: Buffer.from('evil').toString('base64') },
    });
    expect(holds(tampered, written as never)).toBe(false);
    // A CA the operator no longer writes is removed by the next pass.
    expect(holds(trimChild({ ...written, data: { ...data, 'ca.crt': 'Y2E=' } }), written as never)).toBe(
      false,
    );
  });

  it('keeps of a child only the metadata fields it has that the controllers read', () => {
    const [a, b] = operatorObjects()
      .filter((o) => o.kind === 'RoleBinding' && o.metadata.namespace === ns)
      .map((o) => trimChild(JSON.parse(JSON.stringify(o)) as CachedObject));
    expect(a!.metadata.namespace).toBe(ns);
    expect(Object.keys(a!.metadata).sort()).toEqual(['labels', 'name', 'namespace']);
    expect(a).not.toHaveProperty('apiVersion');
    expect(b!.metadata.labels).toEqual(a!.metadata.labels);
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

describe('the caches and a namespace being deleted', () => {
  const version = (obj: CachedObject, rv: number): CachedObject => ({
    ...obj,
    metadata: { ...obj.metadata, resourceVersion: String(rv), uid: `uid-${obj.metadata.name}` },
  });

  it('drop what stands in it once its deletion starts, and keep later versions out', () => {
    const caches = buildCaches({} as Api, loadConfig({ DATABASE_URL: 'postgres://db/w' }), silentLogger);
    const objects = operatorObjects();
    const namespace = objects.find((o) => o.kind === 'Namespace' && o.metadata.name === ns)!;
    const children = objects.filter((o) => o.metadata.namespace === ns);
    const informerOf = (o: CachedObject) => childInformers(caches).find((i) => i.resource.kind === o.kind)!;
    caches.namespaces.observe(version(namespace, 1));
    children.forEach((c, i) => informerOf(c).observe(version(c, 10 + i)));
    const held = () => childInformers(caches).reduce((n, i) => n + i.countInNamespace(ns), 0);
    expect(held()).toBe(children.length);

    const deleting = version(
      { ...namespace, metadata: { ...namespace.metadata, deletionTimestamp: '2026-12-02T10:00:00Z' } },
      100,
    );
    caches.namespaces.observe(deleting);
    // The namespace itself stays (the controllers read that it is going); nothing in it does.
    expect(caches.namespaces.get(ns)?.metadata.deletionTimestamp).toBeDefined();
    expect(held()).toBe(0);
    children.forEach((c, i) => informerOf(c).observe(version(c, 200 + i)));
    expect(childInformers(caches).reduce((n, i) => n + i.countInNamespace(ns), 0)).toBe(0);
    // The home namespace's children are untouched.
    const homeQuota = objects.find((o) => o.kind === 'ResourceQuota' && o.metadata.namespace === 'acme')!;
    caches.quotas.observe(version(homeQuota, 300));
    expect(caches.quotas.countInNamespace('acme')).toBe(1);
  });
});
