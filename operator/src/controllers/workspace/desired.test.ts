import { describe, expect, it } from 'vitest';
import { beyondPlanLimit } from './desired.js';

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
