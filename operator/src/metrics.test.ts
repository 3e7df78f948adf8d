import { describe, expect, it } from 'vitest';
import { resourceOfPath } from './metrics.js';

describe('resourceOfPath', () => {
  it('names the resource and subresource a REST path addresses', () => {
    expect(resourceOfPath('/apis/coordination.k8s.io/v1/namespaces/x/leases/y')).toBe('leases');
    expect(resourceOfPath('/apis/taskjuice.io/v1alpha1/namespaces/acme/workspaces/web/status')).toBe(
      'workspaces/status',
    );
    expect(resourceOfPath('/api/v1/namespaces')).toBe('namespaces');
    expect(resourceOfPath('/api/v1/namespaces/acme')).toBe('namespaces');
    expect(resourceOfPath('/api/v1/namespaces/acme/secrets?watch=1')).toBe('secrets');
    expect(resourceOfPath('/apis/taskjuice.io/v1alpha1/accounts/acme/status')).toBe('accounts/status');
  });
});

describe('resourceOfPath with tenant-chosen names', () => {
  it('never puts a namespace or object name in the label, whatever the tenant called it', () => {
    const names = ['acme', 'workspaces', 'status', 'evil-1234567890', 'a'.repeat(63)];
    const labels = new Set<string>();
    for (const ns of names) {
      for (const name of names) {
        labels.add(resourceOfPath(`/api/v1/namespaces/${ns}`));
        labels.add(resourceOfPath(`/api/v1/namespaces/${ns}/secrets/${name}`));
        labels.add(resourceOfPath(`/apis/taskjuice.io/v1alpha1/namespaces/${ns}/workspaces/${name}/status`));
        labels.add(resourceOfPath(`/apis/taskjuice.io/v1alpha1/accounts/${name}`));
      }
    }
    expect([...labels].sort()).toEqual(['accounts', 'namespaces', 'secrets', 'workspaces/status']);
  });
});
