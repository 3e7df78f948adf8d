/**
 * Objects in the states the operator's status contract defines, for the Argo CD and Flux health checks. Each says
 * what Argo CD and Flux should make of it.
 */

type Kind = 'Account' | 'Workspace' | 'ClientInvitation';
type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Fixture {
  name: string;
  object: Record<string, unknown>;
  argocd: 'Healthy' | 'Progressing' | 'Degraded';
  /** Flux's kstatus result: Current, InProgress, Failed, or Unknown when the expressions cannot be evaluated. */
  flux: 'Current' | 'InProgress' | 'Failed' | 'Unknown';
  /** Words the Argo CD message must contain. */
  message?: RegExp;
}

const condition = (type: string, status: ConditionStatus, generation: number, message: string) => ({
  type,
  status,
  observedGeneration: generation,
  lastTransitionTime: '2026-01-01T00:00:00Z',
  reason: type === 'Ready' && status === 'True' ? 'Reconciled' : 'Working',
  message,
});

const summary = (
  ready: ConditionStatus,
  reconciling: ConditionStatus,
  stalled: ConditionStatus,
  g: number,
  m: string,
) => [
  condition('Ready', ready, g, m),
  condition('Reconciling', reconciling, g, reconciling === 'True' ? m : 'Nothing left to do.'),
  condition('Stalled', stalled, g, stalled === 'True' ? m : 'No error that needs a person.'),
];

const a = (kind: Kind) => `${/^[AEIOU]/.test(kind) ? 'an' : 'a'} ${kind}`;

function object(kind: Kind, generation: number, status?: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'taskjuice.io/v1alpha1',
    kind,
    metadata: {
      name: kind.toLowerCase(),
      ...(kind === 'Account' ? {} : { namespace: 'northwind' }),
      generation,
    },
    spec: {},
    ...(status ? { status } : {}),
  };
}

/** The states every kind shares. */
function common(kind: Kind): Fixture[] {
  const readyStatus = kind === 'ClientInvitation' ? { phase: 'Accepted' } : {};
  return [
    {
      name: `${a(kind)} that is Ready`,
      object: object(kind, 3, {
        observedGeneration: 3,
        ...readyStatus,
        conditions: summary('True', 'False', 'False', 3, `${kind} is ready.`),
      }),
      argocd: 'Healthy',
      flux: 'Current',
    },
    {
      name: `${a(kind)} being reconciled (a transient failure being retried)`,
      object: object(kind, 3, {
        observedGeneration: 3,
        conditions: summary('False', 'True', 'False', 3, 'PostgreSQL is not reachable; retrying'),
      }),
      argocd: 'Progressing',
      flux: 'InProgress',
      message: /PostgreSQL is not reachable/,
    },
    {
      name: `${a(kind)} stalled on an error a person must fix`,
      object: object(kind, 3, {
        observedGeneration: 3,
        conditions: summary('False', 'False', 'True', 3, 'plan growth allows 5 workspaces; upgrade the plan'),
      }),
      argocd: 'Degraded',
      flux: 'Failed',
      message: /plan growth allows 5 workspaces/,
    },
    {
      name: `${a(kind)} whose spec changed since the operator last reported (a stale Ready=True)`,
      object: object(kind, 4, {
        observedGeneration: 3,
        ...readyStatus,
        conditions: summary('True', 'False', 'False', 3, 'ready'),
      }),
      argocd: 'Progressing',
      flux: 'InProgress',
      message: /generation 4/,
    },
    {
      name: `${a(kind)} the operator has not seen yet (no status)`,
      object: object(kind, 1),
      argocd: 'Progressing',
      // Flux: the expressions reference `status`, which does not exist yet, so kstatus reports Unknown and keeps
      // waiting, as it does for InProgress.
      flux: 'Unknown',
    },
    {
      name: `${a(kind)} with a status but no conditions yet`,
      object: object(kind, 1, { observedGeneration: 1 }),
      argocd: 'Progressing',
      flux: 'InProgress',
    },
  ];
}

function invitation(phase: string, conditions: unknown[]): Record<string, unknown> {
  return object('ClientInvitation', 2, { observedGeneration: 2, phase, conditions });
}

/** The states only an invitation has. */
const invitations: Fixture[] = [
  {
    name: 'a ClientInvitation that is sent and waits for the client (Ready, not yet Accepted)',
    object: invitation('Pending', [
      ...summary('True', 'False', 'False', 2, 'Invitation sent to dana@contoso.example.'),
      condition('Accepted', 'False', 2, 'Waiting for the client to accept.'),
    ]),
    argocd: 'Healthy',
    flux: 'Current',
    message: /waiting for the client/,
  },
  {
    // As the invitation controller writes it: an error a person fixes by raising spec.resendRevision.
    name: 'a ClientInvitation that is Expired',
    object: invitation('Expired', [
      ...summary(
        'False',
        'False',
        'True',
        2,
        'The link expired at 2026-01-08T00:00:00.000Z; raise spec.resendRevision',
      ),
      condition('Accepted', 'False', 2, 'Expired before it was accepted'),
    ]),
    argocd: 'Degraded',
    flux: 'Failed',
    message: /^Invitation Expired: The link expired at .* raise spec.resendRevision/,
  },
  {
    name: 'a ClientInvitation that is Rejected',
    object: invitation('Rejected', [
      ...summary('False', 'False', 'True', 2, 'dana@contoso.example is a teammate of account northwind'),
      condition('Accepted', 'False', 2, 'dana@contoso.example is a teammate of account northwind'),
    ]),
    argocd: 'Degraded',
    flux: 'Failed',
    message: /^Invitation Rejected: dana@contoso.example is a teammate/,
  },
  {
    // A revocation is a declared end state (spec.revoked in Git), done when the link is dead: healthy, not failed.
    name: 'a ClientInvitation that is Revoked',
    object: invitation('Revoked', [
      ...summary('True', 'False', 'False', 2, 'The invitation was revoked; its link no longer works'),
      condition('Accepted', 'False', 2, 'Revoked'),
    ]),
    argocd: 'Healthy',
    flux: 'Current',
    message: /^Revoked: The invitation was revoked/,
  },
];

export const FIXTURES: Fixture[] = [
  ...common('Account'),
  ...common('Workspace'),
  ...common('ClientInvitation'),
  ...invitations,
];
