import { describe, expect, it } from 'vitest';
import { contains } from './ownership.js';

describe('contains', () => {
  it('is true when every desired field is present with the same value, whatever else is there', () => {
    expect(
      contains(
        { metadata: { name: 'a', labels: { x: '1', other: '2' }, uid: 'u' }, data: { k: 'v' } },
        { metadata: { name: 'a', labels: { x: '1' } }, data: { k: 'v' } },
      ),
    ).toBe(true);
  });

  it('ignores fields the API server defaults inside array elements', () => {
    expect(
      contains(
        { subjects: [{ kind: 'User', name: 'a', apiGroup: 'rbac.authorization.k8s.io' }] },
        { subjects: [{ kind: 'User', name: 'a' }] },
      ),
    ).toBe(true);
  });

  it('is false when a value differs or is missing, or an array has another length', () => {
    expect(contains({ data: { k: 'v' } }, { data: { k: 'w' } })).toBe(false);
    expect(contains({ data: {} }, { data: { k: 'v' } })).toBe(false);
    expect(contains({ subjects: [{ name: 'a' }, { name: 'b' }] }, { subjects: [{ name: 'a' }] })).toBe(false);
    expect(contains({ subjects: [{ name: 'a' }] }, { subjects: [{ name: 'a' }] })).toBe(true);
  });
});
