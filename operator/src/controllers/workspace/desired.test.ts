import { describe, expect, it } from 'vitest';
import { workspaceLimitRange, workspaceNamespaceObject, workspaceQuota } from './desired.js';
import { beyondPlanLimit } from '../../domain/plans.js';

const ws = (name: string, creationTimestamp: string) => ({ metadata: { name, creationTimestamp } });

describe('beyondPlanLimit', () => {
  const all = [
    ws('gamma', '2026-11-23T10:00:02Z'),
    ws('alpha', '2026-11-23T10:00:00Z'),
    ws('beta', '2026-11-23T10:00:01Z'),
    ws('beta-2', '2026-11-23T10:00:01Z'),
  ];

  it('lets the first workspaces by creation time in, and names break ties within a second', () => {
    const beyond = (limit: number) =>
      all.filter((w) => beyondPlanLimit(w, all, limit)).map((w) => w.metadata.name);
    expect(beyond(1)).toEqual(['gamma', 'beta', 'beta-2']);
    expect(beyond(2)).toEqual(['gamma', 'beta-2']);
    expect(beyond(3)).toEqual(['gamma']);
    expect(beyond(4)).toEqual([]);
  });

  it('counts a workspace once, whether or not the list holds it', () => {
    const gamma = all[0]!;
    expect(beyondPlanLimit(gamma, all.slice(1), 3)).toBe(true);
    expect(beyondPlanLimit(gamma, all, 3)).toBe(true);
    expect(beyondPlanLimit(gamma, all, 4)).toBe(false);
  });
});

describe('the bounds of a workspace namespace', () => {
  const account = { metadata: { name: 'acme', uid: 'u-1' } };

  it('labels the namespace for Pod Security: the level enforced, audited and warned about, at the latest version', () => {
    const labels = workspaceNamespaceObject(account, 'web', 'acme-web-x', 'restricted').metadata.labels;
    expect(labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/enforce-version': 'latest',
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
      'taskjuice.io/account': 'acme',
      'taskjuice.io/workspace': 'web',
    });
  });

  it('makes no quota or LimitRange when none is configured', () => {
    expect(workspaceQuota('ns', 'acme', 'web', {})).toBeUndefined();
    expect(workspaceLimitRange('ns', 'acme', 'web', {})).toBeUndefined();
    expect(workspaceLimitRange('ns', 'acme', 'web', { default: {} })).toBeUndefined();
  });

  it('keeps the stored spelling of unchanged amounts, so a second pass finds nothing to write', () => {
    const quota = workspaceQuota(
      'ns',
      'acme',
      'web',
      { 'requests.memory': '1024Mi', pods: '50' },
      {
        'requests.memory': '1Gi',
        pods: '40',
      },
    );
    expect(quota?.spec.hard).toEqual({ 'requests.memory': '1Gi', pods: '50' });
    const limits = workspaceLimitRange(
      'ns',
      'acme',
      'web',
      { defaultRequest: { cpu: '0.1' }, default: { cpu: '500m' } },
      { type: 'Container', defaultRequest: { cpu: '100m' } },
    );
    expect(limits?.spec.limits).toEqual([
      { type: 'Container', defaultRequest: { cpu: '100m' }, default: { cpu: '500m' } },
    ]);
  });
});
