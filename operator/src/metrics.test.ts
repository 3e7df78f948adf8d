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
