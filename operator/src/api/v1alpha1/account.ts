import { z } from 'zod';
import { AGE_COLUMN, READY_COLUMN, type KindDefinition } from '../crd.js';
import { canonicalEmail } from '../email.js';
import { Conditions, KubeObject, ObservedGeneration } from '../meta.js';
import { SLUG_PATTERN, SLUG_RULE } from './workspace.js';

export const TeammateRole = z
  .enum(['Owner', 'Admin', 'Member'])
  .describe(
    'Account role: Owner and Admin manage workspaces and invitations; Member works inside existing workspaces.',
  );
export type TeammateRole = z.infer<typeof TeammateRole>;

/** An address as written in a spec: the API server checks its shape, the webhook its canonical form. */
export const EmailAddress = z
  .string()
  .min(3)
  .max(254)
  .regex(/^[^@]+@[^@]+$/)
  .superRefine((value, ctx) => {
    const result = canonicalEmail(value);
    if (!result.ok) ctx.addIssue({ code: 'custom', message: result.reason });
  });

export const Teammate = z.object({
  email: EmailAddress.describe(
    'Email of the teammate; it is also the Kubernetes user name RBAC grants to (lower case, as the OIDC email claim).',
  ),
  role: TeammateRole,
  workspaces: z
    .array(
      z
        .string()
        .regex(new RegExp(SLUG_PATTERN), `a workspace slug ${SLUG_RULE}`)
        .describe('Slug of a workspace of the account.'),
    )
    .min(1)
    .max(100)
    .meta({ 'x-kubernetes-list-type': 'set' })
    .optional()
    .describe(
      'Slugs of the workspaces this teammate reaches (1 to 100; they need not exist yet). Without the list, every workspace of the account. A listed Owner or Admin creates, deletes and invites into listed workspaces only.',
    ),
});
export type Teammate = z.infer<typeof Teammate>;

export const AccountSpec = z
  .object({
    displayName: z
      .string()
      .min(1)
      .max(100)
      .describe('Name of the agency as people read it, 1 to 100 characters.'),
    plan: z
      .string()
      .max(63)
      .optional()
      .describe(
        'Plan name from the operator plan catalog (default catalog: starter 1, growth 5, scale 25 workspaces). A missing or unknown plan falls back to 1 workspace and sets PlanResolved=False.',
      ),
    workspaceLimit: z
      .number()
      .int()
      .min(0)
      .max(100000)
      .optional()
      .describe(
        "How many workspaces this account may have, overriding its plan's limit: what Support sets when an agency asks for more. Set by whoever manages Accounts (the platform team); the webhook refuses a change made by a teammate of the account. Without it, the plan's limit applies.",
      ),
    databaseServerSelector: z
      .object({
        matchLabels: z
          .record(z.string().max(317), z.string().max(63))
          .describe(
            'Labels a DatabaseServer must carry for the workspaces of this account to be placed on it.',
          ),
      })
      .optional()
      .describe(
        'Pins the account: new workspaces are placed only on DatabaseServers with these labels (default: any Active server). Set by the platform team; workspaces already placed stay where they are.',
      ),
    teammates: z
      .array(Teammate)
      .min(1)
      .max(500)
      .meta({
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['email'],
        'x-kubernetes-validations': [
          {
            rule: "self.exists(t, t.role == 'Owner')",
            message: 'at least one teammate must have the Owner role',
          },
          {
            rule: "self.exists(t, t.role == 'Owner' && !has(t.workspaces))",
            message:
              'at least one Owner must reach every workspace (have no workspaces list), so that someone can manage them all',
          },
        ],
      })
      .superRefine((teammates, ctx) => {
        const seen = new Map<string, number>();
        teammates.forEach((t, i) => {
          const c = canonicalEmail(t.email);
          if (!c.ok) return;
          const first = seen.get(c.email);
          if (first !== undefined) {
            ctx.addIssue({
              code: 'custom',
              path: [i, 'email'],
              message: `is the same person as teammates[${first}] (${c.email}); emails must be unique after normalisation`,
            });
          } else seen.set(c.email, i);
        });
        if (
          teammates.some((t) => t.role === 'Owner') &&
          !teammates.some((t) => t.role === 'Owner' && !t.workspaces)
        ) {
          ctx.addIssue({
            code: 'custom',
            message:
              'at least one Owner must reach every workspace (have no workspaces list), so that someone can manage them all',
          });
        }
      })
      .describe(
        'Agency staff. A teammate reaches every workspace of the account unless its workspaces list names some; at least one Owner reaches every workspace.',
      ),
  })
  .describe('Desired state of the agency account.');
export type AccountSpec = z.infer<typeof AccountSpec>;

export const AccountStatus = z
  .object({
    observedGeneration: ObservedGeneration.optional(),
    namespace: z
      .string()
      .max(63)
      .optional()
      .describe('The home namespace of the account, where its workspaces live.'),
    plan: z
      .object({
        name: z.string().max(63).optional().describe('The plan asked for in spec.plan.'),
        resolved: z.boolean().describe('Whether the plan was found in the plan catalog.'),
        workspaceLimit: z
          .number()
          .int()
          .min(0)
          .max(100000)
          .describe(
            'How many workspaces the account may have: spec.workspaceLimit when set, else the plan limit.',
          ),
        planLimit: z
          .number()
          .int()
          .min(0)
          .max(100000)
          .optional()
          .describe('What the plan alone allows (1 when it is not resolved).'),
        limitSource: z
          .enum(['Plan', 'Fallback', 'Override'])
          .optional()
          .describe(
            'Where workspaceLimit comes from: Plan (the catalog), Fallback (the plan is not resolved, so 1) or Override (spec.workspaceLimit).',
          ),
      })
      .optional()
      .describe('The plan as the operator resolved it.'),
    workspaceCount: z
      .number()
      .int()
      .min(0)
      .max(100000)
      .optional()
      .describe('How many workspaces the account has.'),
    teammates: z
      .array(
        z.object({
          email: z.string().max(254).describe('Canonical email of the teammate (its RBAC user name).'),
          role: TeammateRole,
          access: z
            .enum(['All', 'Listed'])
            .describe('All: every workspace of the account; Listed: only those of its workspaces list.'),
          workspaces: z
            .array(z.string().max(50))
            .max(100)
            .optional()
            .describe('For Listed: the listed workspaces that exist, which the teammate reaches now.'),
        }),
      )
      .max(500)
      .optional()
      .describe('Which workspaces each teammate reaches.'),
    conditions: Conditions.optional(),
  })
  .describe('Observed state of the agency account.');
export type AccountStatus = z.infer<typeof AccountStatus>;

export const Account = KubeObject.extend({ spec: AccountSpec, status: AccountStatus.optional() });
export type Account = z.infer<typeof Account>;

export const ACCOUNT_NAME_PATTERN = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';

export const AccountDefinition: KindDefinition = {
  kind: 'Account',
  plural: 'accounts',
  singular: 'account',
  shortNames: ['acct'],
  scope: 'Cluster',
  description:
    'An agency. The operator gives it a home namespace named after it, RBAC for its teammates and a quota that holds its plan limit.',
  spec: AccountSpec,
  status: AccountStatus,
  rootValidations: [
    {
      rule: `self.metadata.name.matches('${ACCOUNT_NAME_PATTERN}')`,
      message:
        'metadata.name must be a DNS label: at most 63 lower-case letters, digits and hyphens, no leading or trailing hyphen (it names the home namespace)',
    },
    {
      rule: "!self.metadata.name.startsWith('kube-') && !(self.metadata.name in ['default', 'kube-system', 'kube-public', 'kube-node-lease'])",
      message: 'metadata.name must not be a reserved namespace name (default or kube-*)',
    },
  ],
  printerColumns: [
    {
      name: 'Display Name',
      type: 'string',
      jsonPath: '.spec.displayName',
      description: 'Name of the agency.',
    },
    { name: 'Plan', type: 'string', jsonPath: '.status.plan.name', description: 'Plan of the account.' },
    {
      name: 'Limit',
      type: 'integer',
      jsonPath: '.status.plan.workspaceLimit',
      description: 'Workspaces the account may have.',
    },
    {
      name: 'Limit From',
      type: 'string',
      jsonPath: '.status.plan.limitSource',
      description:
        'Where the limit comes from: Plan, Fallback (plan not resolved) or Override (spec.workspaceLimit).',
    },
    {
      name: 'Workspaces',
      type: 'integer',
      jsonPath: '.status.workspaceCount',
      description: 'Workspaces on the account.',
    },
    READY_COLUMN,
    AGE_COLUMN,
  ],
};
