import { describe, expect, it } from 'vitest';
import { sanitize, secretSummary } from './redact.js';

describe('what the support bundle keeps of an object', () => {
  it('drops managedFields, last-applied-configuration and token digests, and keeps the rest', () => {
    const out = sanitize({
      metadata: {
        name: 'carla',
        managedFields: [{ manager: 'kubectl' }],
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"password":"x"}}',
          keep: 'me',
        },
      },
      status: { phase: 'Pending', tokenHash: 'abc' },
    });
    expect(out).toEqual({
      metadata: { name: 'carla', annotations: { keep: 'me' } },
      status: { phase: 'Pending', tokenHash: '<removed from the report>' },
    });
  });

  it('reduces a Secret to its name, type and keys', () => {
    const summary = secretSummary({
      metadata: {
        name: 'database-credentials',
        namespace: 'ws',
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': 'secret' },
      },
      type: 'servicebinding.io/postgresql',
      data: { password: 'c2VjcmV0', host: 'aG9zdA==' },
      stringData: { password: 'secret' },
    });
    expect(summary).toMatchObject({ name: 'database-credentials', keys: ['host', 'password'] });
    expect(JSON.stringify(summary)).not.toMatch(/c2VjcmV0|secret"/);
  });
});
