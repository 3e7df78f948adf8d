import type { Condition } from './meta.js';

/** Condition types every kind carries (kstatus: Ready is the summary, Reconciling and Stalled the abnormal). */
export const Ready = 'Ready';
export const Reconciling = 'Reconciling';
export const Stalled = 'Stalled';

/** Conditions of one kind, beside the three summary ones. */
export const PlanResolved = 'PlanResolved';
export const OrphansFound = 'OrphansFound';
export const NamespaceReady = 'NamespaceReady';
export const AccessReady = 'AccessReady';
export const CredentialsReady = 'CredentialsReady';
export const DatabaseReady = 'DatabaseReady';
export const Delivered = 'Delivered';
export const Accepted = 'Accepted';

/**
 * Every reason a condition of this operator carries (CamelCase, for programs: GitOps health checks, alerts and
 * tests match on them). Also the reasons of the Events that report the same transitions.
 */
export const Reason = {
  // Every kind
  InvalidSpec: 'InvalidSpec',
  Provisioning: 'Provisioning',
  Provisioned: 'Provisioned',
  ProvisioningFailed: 'ProvisioningFailed',
  // Account
  PlanFound: 'PlanFound',
  NoPlan: 'NoPlan',
  UnknownPlan: 'UnknownPlan',
  NamespaceConflict: 'NamespaceConflict',
  QuotaPending: 'QuotaPending',
  /** An account whose workspaces outnumber its plan, or a workspace waiting for a place in it. */
  OverPlanLimit: 'OverPlanLimit',
  None: 'None',
  WorkspaceGone: 'WorkspaceGone',
  // Workspace
  AccountNotReady: 'AccountNotReady',
  Created: 'Created',
  Granted: 'Granted',
  SecretWritten: 'SecretWritten',
  DatabaseUnavailable: 'DatabaseUnavailable',
  Conflict: 'Conflict',
  Deleting: 'Deleting',
  CleanupFailed: 'CleanupFailed',
  /** A workspace being deleted whose connections have copies in other workspaces. */
  ConnectionsCopied: 'ConnectionsCopied',
  // ClientInvitation
  Sending: 'Sending',
  Sent: 'Sent',
  SendFailed: 'SendFailed',
  MailNotConfigured: 'MailNotConfigured',
  Pending: 'Pending',
  Accepted: 'Accepted',
  Revoked: 'Revoked',
  Expired: 'Expired',
  TeammateEmail: 'TeammateEmail',
  WorkspaceNotFound: 'WorkspaceNotFound',
  /** A workspace that waits for a DatabaseServer with room, or for the one it is placed on to open. */
  NoDatabaseServer: 'NoDatabaseServer',
  DatabaseServerNotOpen: 'DatabaseServerNotOpen',
  Moving: 'Moving',
  MoveFailed: 'MoveFailed',
  Moved: 'Moved',
  // DatabaseServer
  Reachable: 'Reachable',
  Unreachable: 'Unreachable',
  // Connection
  CredentialsMounted: 'CredentialsMounted',
  Reconnected: 'Reconnected',
  LineageBroken: 'LineageBroken',
  SecretNotFound: 'SecretNotFound',
  WaitingForSource: 'WaitingForSource',
  WorkspaceNotReady: 'WorkspaceNotReady',
  ProviderMismatch: 'ProviderMismatch',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export type ConditionStatus = Condition['status'];

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/**
 * Sets one condition, cert-manager style: stamps `observedGeneration`, and moves `lastTransitionTime` only when
 * the status flips, so that writing the same observation twice changes nothing.
 */
export function setCondition(
  conditions: readonly Condition[],
  input: ConditionInput,
  observedGeneration: number,
  now: Date,
): Condition[] {
  const existing = conditions.find((c) => c.type === input.type);
  const next: Condition = {
    type: input.type,
    status: input.status,
    observedGeneration,
    lastTransitionTime:
      existing && existing.status === input.status
        ? existing.lastTransitionTime
        : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    reason: input.reason,
    message: input.message,
  };
  const out = conditions.filter((c) => c.type !== input.type);
  out.push(next);
  // A stable order keeps status writes minimal and diffs readable.
  return out.sort((a, b) => a.type.localeCompare(b.type));
}

export function setConditions(
  conditions: readonly Condition[],
  inputs: readonly ConditionInput[],
  observedGeneration: number,
  now: Date,
): Condition[] {
  return inputs.reduce<Condition[]>(
    (acc, c) => setCondition(acc, c, observedGeneration, now),
    [...conditions],
  );
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/** The three summary conditions for an object that is done: Ready, not reconciling, not stalled. */
export function readyConditions(reason: string, message: string): ConditionInput[] {
  return [
    { type: Ready, status: 'True', reason, message },
    { type: Reconciling, status: 'False', reason, message: 'Nothing left to do.' },
    { type: Stalled, status: 'False', reason, message: 'No error that needs a person.' },
  ];
}

/** Work is in flight or a transient failure is being retried: Ready=False, Reconciling=True, never Stalled. */
export function progressingConditions(reason: string, message: string): ConditionInput[] {
  return [
    { type: Ready, status: 'False', reason, message },
    { type: Reconciling, status: 'True', reason, message },
    { type: Stalled, status: 'False', reason, message: 'No error that needs a person.' },
  ];
}

/** An error a person must fix: Ready=False, Stalled=True, and no retry until the object changes. */
export function stalledConditions(reason: string, message: string): ConditionInput[] {
  return [
    { type: Ready, status: 'False', reason, message },
    { type: Reconciling, status: 'False', reason, message: 'Waiting for a change of the object.' },
    { type: Stalled, status: 'True', reason, message },
  ];
}
