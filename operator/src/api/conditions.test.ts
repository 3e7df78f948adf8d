import { describe, expect, it } from 'vitest';
import { progressingConditions, readyConditions, setCondition, setConditions } from './conditions.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:05:00Z');

describe('setCondition', () => {
  it('stamps observedGeneration and keeps lastTransitionTime while the status stays the same', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, 1, t0);
    const second = setCondition(first, { type: 'Ready', status: 'False', reason: 'B', message: 'b' }, 2, t1);
    expect(second).toEqual([
      {
        type: 'Ready',
        status: 'False',
        observedGeneration: 2,
        lastTransitionTime: '2026-01-01T00:00:00Z',
        reason: 'B',
        message: 'b',
      },
    ]);
  });

  it('moves lastTransitionTime when the status flips', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, 1, t0);
    const flipped = setCondition(first, { type: 'Ready', status: 'True', reason: 'A', message: 'a' }, 1, t1);
    expect(flipped[0]?.lastTransitionTime).toBe('2026-01-01T00:05:00Z');
  });

  it('gives the same list for the same observations, so a second write is a no-op', () => {
    const a = setConditions([], progressingConditions('Provisioning', 'x'), 1, t0);
    const b = setConditions(a, readyConditions('Ready', 'y'), 1, t1);
    const c = setConditions(b, readyConditions('Ready', 'y'), 1, new Date('2027-01-01T00:00:00Z'));
    expect(c).toEqual(b);
    expect(c.map((x) => x.type)).toEqual(['Ready', 'Reconciling', 'Stalled']);
  });
});
