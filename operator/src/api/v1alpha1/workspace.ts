import { z } from 'zod';
import { AGE_COLUMN, READY_COLUMN, type KindDefinition } from '../crd.js';
import { Conditions, KubeObject, ObservedGeneration } from '../meta.js';

export const SLUG_PATTERN = '^[a-z0-9]([-a-z0-9]{0,48}[a-z0-9])$';
export const SLUG_RULE =
  'must be 2 to 50 characters of lower-case letters, digits and hyphens, with no leading or trailing hyphen';

export const WorkspaceSpec = z
  .object({
    displayName: z
      .string()
      .min(1)
      .max(100)
      .describe(
        'Name of the client workspace as people read it, 1 to 100 characters; the only field you rename.',
      ),
    description: z
      .string()
      .max(1000)
      .optional()
      .describe('What the engagement is about, at most 1000 characters.'),
    betaOptIn: z
      .boolean()
      .default(true)
      .describe('Whether beta actions and triggers appear in this workspace (default true).'),
    approvalTimeoutSeconds: z
      .number()
      .int()
      .min(60)
      .max(604800)
      .default(86400)
      .describe(
        'How long a human-approval task stays pending, 60 seconds to 7 days (default 86400, 24 hours).',
      ),
  })
  .describe('Desired state of the client workspace.');
export type WorkspaceSpec = z.infer<typeof WorkspaceSpec>;

export const WorkspacePhase = z
  .enum(['Provisioning', 'Ready', 'Failed', 'Deleting'])
  .describe('Where the workspace is in its life: Provisioning, Ready, Failed or Deleting.');
export type WorkspacePhase = z.infer<typeof WorkspacePhase>;

export const WorkspaceStatus = z
  .object({
    observedGeneration: ObservedGeneration.optional(),
    phase: WorkspacePhase.optional(),
    namespace: z
      .string()
      .max(63)
      .optional()
      .describe('The namespace of the workspace, where its Secret lives.'),
    database: z
      .object({
        schema: z.string().max(63).describe('PostgreSQL schema of the workspace.'),
        role: z.string().max(63).describe('PostgreSQL login role that owns the schema.'),
        secretName: z
          .string()
          .max(253)
          .describe('Secret in the workspace namespace holding the credentials.'),
        credentialsHash: z
          .string()
          .max(64)
          .optional()
          .describe(
            'Digest of the credentials the role was last given; a Secret that differs is applied again.',
          ),
        rotation: z
          .string()
          .max(253)
          .optional()
          .describe('The value of the rotate-credentials annotation that was last carried out.'),
      })
      .optional()
      .describe('The database objects of the workspace.'),
    databaseServer: z
      .string()
      .max(253)
      .optional()
      .describe(
        'The DatabaseServer the workspace was placed on (default: the configuration’s DATABASE_URL); it never changes by itself.',
      ),
    move: z
      .object({
        from: z.string().max(253).describe('The server the workspace is moved from.'),
        to: z.string().max(253).describe('The server it is moved to.'),
        phase: z
          .enum(['Copying', 'Switching', 'Cleaning'])
          .describe(
            'Copying: logins refused on the source while schema and rows are copied; Switching: the Secret moves to the target; Cleaning: the source copy is dropped.',
          ),
        startedAt: z.string().max(64).describe('When the client’s logins were first refused.'),
        rows: z.number().int().min(0).optional().describe('Rows copied, counted on both servers.'),
      })
      .optional()
      .describe('A move to another DatabaseServer under way.'),
    binding: z
      .object({ name: z.string().max(253).describe('Name of the Secret with the credentials.') })
      .optional()
      .describe('Service Binding: the Secret an application binds to.'),
    clients: z
      .array(z.string().max(254))
      .max(1000)
      .optional()
      .describe('Emails of the clients who accepted an invitation to this workspace.'),
    clientCount: z
      .number()
      .int()
      .min(0)
      .max(100000)
      .optional()
      .describe('How many clients accepted an invitation to this workspace and were not revoked.'),
    staffCount: z
      .number()
      .int()
      .min(0)
      .max(100000)
      .optional()
      .describe(
        'How many teammates reach this workspace: those without a workspaces list and those whose list names it.',
      ),
    conditions: Conditions.optional(),
  })
  .describe('Observed state of the client workspace.');
export type WorkspaceStatus = z.infer<typeof WorkspaceStatus>;

export const Workspace = KubeObject.extend({ spec: WorkspaceSpec, status: WorkspaceStatus.optional() });
export type Workspace = z.infer<typeof Workspace>;

export const WorkspaceDefinition: KindDefinition = {
  kind: 'Workspace',
  plural: 'workspaces',
  singular: 'workspace',
  shortNames: ['ws'],
  scope: 'Namespaced',
  description:
    "One client engagement, in its account's home namespace. Its name is the slug. The operator gives it a namespace, a PostgreSQL schema and role that reach nothing else, and a Secret with the credentials.",
  spec: WorkspaceSpec,
  status: WorkspaceStatus,
  rootValidations: [
    {
      rule: `self.metadata.name.matches('${SLUG_PATTERN}')`,
      message: `metadata.name (the slug) ${SLUG_RULE}`,
      fieldPath: '.metadata.name',
    },
  ],
  printerColumns: [
    {
      name: 'Display Name',
      type: 'string',
      jsonPath: '.spec.displayName',
      description: 'Name of the workspace.',
    },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Phase of the workspace.' },
    {
      name: 'Namespace',
      type: 'string',
      jsonPath: '.status.namespace',
      description: 'Namespace of the workspace.',
    },
    {
      name: 'Clients',
      type: 'integer',
      jsonPath: '.status.clientCount',
      description: 'How many clients accepted an invitation.',
    },
    {
      name: 'Staff',
      type: 'integer',
      jsonPath: '.status.staffCount',
      description: 'How many teammates reach the workspace.',
      priority: 1,
    },
    {
      name: 'Client Emails',
      type: 'string',
      jsonPath: '.status.clients',
      description: 'Emails of the accepted clients.',
      priority: 1,
    },
    {
      name: 'Server',
      type: 'string',
      jsonPath: '.status.databaseServer',
      description: 'The PostgreSQL server it is placed on.',
      priority: 1,
    },
    READY_COLUMN,
    AGE_COLUMN,
  ],
};
