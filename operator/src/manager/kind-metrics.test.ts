import { describe, expect, it } from 'vitest';
import type { WorkspaceObject } from '../caches.js';
import { Metrics } from '../metrics.js';
import { countPhases, countStalled, OTHER_REASON, ProvisioningTimer, UNKNOWN_PHASE } from './kind-metrics.js';

const stalled = (reason: string) => ({
  status: { conditions: [{ type: 'Stalled', status: 'True', reason }] },
});

describe('countPhases', () => {
  it('reports every known phase, zero included, and an object without a known phase as Unknown', () => {
    const counts = countPhases(
      [{ status: { phase: 'Ready' } }, { status: { phase: 'Ready' } }, {}, { status: { phase: 'Hacked' } }],
      ['Provisioning', 'Ready'],
    );
    expect(counts).toEqual({ Provisioning: 0, Ready: 2, [UNKNOWN_PHASE]: 2 });
  });
});

describe('countStalled', () => {
  it('counts Stalled=True per reason, and a reason the operator never writes only as Other', () => {
    const objects = [
      stalled('OverPlanLimit'),
      stalled('OverPlanLimit'),
      stalled('x'.repeat(200)),
      stalled('evil-1'),
      { status: { conditions: [{ type: 'Stalled', status: 'False', reason: 'None' }] } },
    ];
    expect(Object.fromEntries(countStalled('Workspace', objects))).toEqual({
      OverPlanLimit: 2,
      [OTHER_REASON]: 2,
    });
  });
});

const workspace = (name: string, phase?: string): WorkspaceObject => ({
  metadata: { name, namespace: 'acme' },
  spec: undefined,
  status: phase === undefined ? undefined : { phase: phase as 'Ready' },
});

describe('ProvisioningTimer', () => {
  it('observes the time from a new workspace to its Ready, once, on the leader only', async () => {
    const metrics = new Metrics();
    let now = 0;
    let leader = true;
    const timer = new ProvisioningTimer(
      metrics,
      () => leader,
      () => now,
    );
    timer.seen(workspace('a'));
    timer.seen(workspace('b'));
    now = 1_500;
    timer.seen(workspace('a', 'Provisioning'));
    timer.seen(workspace('a', 'Ready'));
    timer.seen(workspace('a', 'Ready'));
    leader = false;
    timer.seen(workspace('b', 'Ready'));
    const text = await metrics.registry.getSingleMetricAsString(
      'workspace_operator_workspace_provisioning_duration_seconds',
    );
    expect(text).toMatch(/^workspace_operator_workspace_provisioning_duration_seconds_count 1$/m);
    expect(text).toMatch(/^workspace_operator_workspace_provisioning_duration_seconds_sum 1.5$/m);
    expect(timer.timing).toBe(0);
  });

  it('does not time a workspace it first sees with a status (one that existed before this replica)', () => {
    const timer = new ProvisioningTimer(
      new Metrics(),
      () => true,
      () => 0,
    );
    timer.seen(workspace('old', 'Provisioning'));
    expect(timer.timing).toBe(0);
  });
});
