import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTenantName, tenantNames, workspaceNamespace } from './names.js';

const label = (min: number, max: number) =>
  fc
    .stringMatching(new RegExp(`^[a-z0-9]([-a-z0-9]{${Math.max(0, min - 2)},${max - 2}}[a-z0-9])$`))
    .filter((s) => s.length >= min && s.length <= max);
const account = label(1, 63);
const slug = label(2, 50);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

describe('tenant and namespace names', () => {
  it('never map distinct (account, slug) pairs to the same schema, role or namespace', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(account, slug), {
          minLength: 2,
          maxLength: 200,
          selector: ([a, s]) => `${a}/${s}`,
        }),
        (pairs) => {
          const schemas = new Set(pairs.map(([a, s]) => tenantNames('ws', a, s).schema));
          const namespaces = new Set(pairs.map(([a, s]) => workspaceNamespace(a, s)));
          expect(schemas.size).toBe(pairs.length);
          expect(namespaces.size).toBe(pairs.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('separates pairs that only differ in where the hyphen falls, and long names that differ late', () => {
    expect(tenantNames('ws', 'a-b', 'cc').schema).not.toBe(tenantNames('ws', 'a', 'b-cc').schema);
    expect(workspaceNamespace('a-b', 'cc')).not.toBe(workspaceNamespace('a', 'b-cc'));
    const long = 'x'.repeat(60);
    expect(tenantNames('ws', long + 'a', 'slug').schema).not.toBe(
      tenantNames('ws', long + 'b', 'slug').schema,
    );
  });

  it('keep identifiers within 63 bytes and namespaces a DNS label, for the longest inputs', () => {
    fc.assert(
      fc.property(account, slug, fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/), (a, s, prefix) => {
        const { schema, role } = tenantNames(prefix, a, s);
        expect(Buffer.byteLength(schema)).toBeLessThanOrEqual(63);
        expect(role).toBe(schema);
        expect(schema).toMatch(/^[a-z][a-z0-9_]*$/);
        expect(isTenantName(prefix, schema)).toBe(true);
        const ns = workspaceNamespace(a, s);
        expect(ns).toMatch(DNS_LABEL);
      }),
    );
  });

  it('are deterministic', () => {
    expect(tenantNames('ws', 'acme', 'web')).toEqual(tenantNames('ws', 'acme', 'web'));
    expect(workspaceNamespace('acme', 'web')).toMatch(/^acme-web-[a-z2-7]{12}$/);
  });
});
