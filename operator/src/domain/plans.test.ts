import { describe, expect, it } from 'vitest';
import { describeLimit, resolvePlan } from './plans.js';

const catalog = { starter: 1, growth: 5, scale: 25 };

describe('the workspace limit of an account', () => {
  it('is the plan limit without an override, and the fallback of 1 for an unresolved plan', () => {
    expect(resolvePlan({ plan: 'growth' }, catalog)).toMatchObject({
      workspaceLimit: 5,
      planLimit: 5,
      source: 'Plan',
    });
    expect(resolvePlan({ plan: 'gold' }, catalog)).toMatchObject({
      workspaceLimit: 1,
      source: 'Fallback',
      resolved: false,
    });
  });

  it('is spec.workspaceLimit when set, above or below the plan, and the plan condition says so', () => {
    const raised = resolvePlan({ plan: 'growth', workspaceLimit: 40 }, catalog);
    expect(raised).toMatchObject({ workspaceLimit: 40, planLimit: 5, source: 'Override', resolved: true });
    expect(raised.condition.message).toBe(
      'plan growth allows 5 workspaces; spec.workspaceLimit overrides it: 40 workspaces',
    );
    expect(describeLimit(raised)).toBe(
      'the limit of 40 workspaces set by spec.workspaceLimit (plan growth allows 5)',
    );
    expect(resolvePlan({ plan: 'scale', workspaceLimit: 0 }, catalog)).toMatchObject({
      workspaceLimit: 0,
      source: 'Override',
    });
    // An unknown plan is still reported, but the override is the limit.
    const unknown = resolvePlan({ plan: 'gold', workspaceLimit: 3 }, catalog);
    expect(unknown).toMatchObject({ workspaceLimit: 3, resolved: false, source: 'Override' });
    expect(unknown.condition.status).toBe('False');
  });
});
