import { z } from 'zod';
import { AGE_COLUMN, READY_COLUMN, type KindDefinition } from '../crd.js';
import { Conditions, KubeObject, ObservedGeneration } from '../meta.js';

const NAME_PATTERN = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
/** A connection's name also names its Secret in the workspace namespace (`connection-<name>`, at most 63). */
export const CONNECTION_NAME_PATTERN = '^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$';
export const CONNECTION_NAME_RULE =
  'must be 1 to 52 lower-case letters, digits and hyphens, with no leading or trailing hyphen (it names the Secret connection-<name>)';

export const ConnectionSpec = z
  .object({
    workspace: z
      .string()
      .min(2)
      .max(50)
      .meta({
        'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'workspace cannot be changed' }],
      })
      .describe('Slug of the workspace of this account the connection belongs to; fixed once created.'),
    provider: z
      .string()
      .min(1)
      .max(63)
      .regex(new RegExp(NAME_PATTERN))
      .optional()
      .describe(
        'The external service, as a DNS label (google-ads, hubspot, …). Required for a source; a copy carries its source’s, and if set it must be the same.',
      ),
    displayName: z
      .string()
      .min(1)
      .max(100)
      .describe(
        'Name of the connection as people read it, 1 to 100 characters; the only field of a copy you change.',
      ),
    credentials: z
      .object({
        secretRef: z
          .object({
            name: z
              .string()
              .min(1)
              .max(253)
              .describe(
                'Name of a Secret in the account namespace holding the credentials; every entry is handed on as it is.',
              ),
          })
          .describe('The Secret with the credentials, in the same namespace as the Connection.'),
      })
      .optional()
      .describe(
        'Where the credentials come from; only a source has it. Changing the Secret it names, or its data, reconnects the connection and every copy of it.',
      ),
    copyOf: z
      .object({
        name: z
          .string()
          .min(1)
          .max(63)
          .describe('Name of the Connection this one is a copy of, in the same account.'),
        account: z
          .string()
          .max(63)
          .optional()
          .describe(
            'The account of that Connection, if given; it must be this one (copies stay in their account).',
          ),
      })
      .meta({
        'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'copyOf cannot be changed' }],
      })
      .optional()
      .describe(
        'Makes this connection a copy: it has no credentials of its own and always carries those of its lineage’s original source. Fixed once created.',
      ),
  })
  .meta({
    'x-kubernetes-validations': [
      {
        rule: 'has(self.credentials) != has(self.copyOf)',
        message: 'set exactly one of credentials (a source) and copyOf (a copy)',
      },
      {
        rule: 'has(self.copyOf) || has(self.provider)',
        message: 'provider is required for a connection that is not a copy',
      },
      {
        rule: 'has(self.copyOf) == has(oldSelf.copyOf)',
        message: 'a source cannot become a copy, nor a copy a source',
      },
    ],
  })
  .describe('Desired state of the connection.');
export type ConnectionSpec = z.infer<typeof ConnectionSpec>;

export const ConnectionStatus = z
  .object({
    observedGeneration: ObservedGeneration.optional(),
    source: z
      .string()
      .max(63)
      .optional()
      .describe('The original source of this connection’s lineage (its own name for a source).'),
    provider: z.string().max(63).optional().describe('The provider, a copy’s taken from its source.'),
    copies: z
      .number()
      .int()
      .min(0)
      .max(100000)
      .optional()
      .describe('How many connections are copies of this one, directly or through other copies.'),
    credentials: z
      .object({
        secretName: z
          .string()
          .max(253)
          .describe('The Secret of the account namespace the lineage’s credentials come from.'),
        revision: z
          .number()
          .int()
          .min(0)
          .describe(
            'The credentials revision this connection carries; a reconnect raises the source’s by one.',
          ),
        latestRevision: z.number().int().min(0).describe('The newest revision of the lineage, the source’s.'),
        upToDate: z.boolean().describe('Whether this connection carries the newest revision.'),
        digest: z
          .string()
          .max(64)
          .optional()
          .describe('Short keyed digest of the credentials of that revision, to notice a change.'),
        mountedSecret: z
          .string()
          .max(253)
          .optional()
          .describe(
            'The Secret in the workspace namespace that carries them, for the client’s work to mount.',
          ),
        reconnectedAt: z.string().max(64).optional().describe('When the source last took new credentials.'),
      })
      .optional()
      .describe('The credentials of the connection.'),
    conditions: Conditions.optional(),
  })
  .describe('Observed state of the connection.');
export type ConnectionStatus = z.infer<typeof ConnectionStatus>;

export const Connection = KubeObject.extend({ spec: ConnectionSpec, status: ConnectionStatus.optional() });
export type Connection = z.infer<typeof Connection>;

export const ConnectionDefinition: KindDefinition = {
  kind: 'Connection',
  plural: 'connections',
  singular: 'connection',
  shortNames: ['conn'],
  scope: 'Namespaced',
  description:
    "The credentials of one external account (an ad platform, a CRM, …) a workspace's work uses, in the account's home namespace. A source takes them from a Secret; a copy carries its lineage's source's. The operator gives the workspace's namespace a Secret connection-<name> with them.",
  spec: ConnectionSpec,
  status: ConnectionStatus,
  rootValidations: [
    {
      rule: `self.metadata.name.matches('${CONNECTION_NAME_PATTERN}')`,
      message: `metadata.name ${CONNECTION_NAME_RULE}`,
      fieldPath: '.metadata.name',
    },
  ],
  printerColumns: [
    {
      name: 'Workspace',
      type: 'string',
      jsonPath: '.spec.workspace',
      description: 'Workspace the connection belongs to.',
    },
    { name: 'Provider', type: 'string', jsonPath: '.status.provider', description: 'The external service.' },
    {
      name: 'Source',
      type: 'string',
      jsonPath: '.status.source',
      description: 'Original source of its lineage.',
    },
    {
      name: 'Revision',
      type: 'integer',
      jsonPath: '.status.credentials.revision',
      description: 'Credentials revision it carries.',
    },
    {
      name: 'Up To Date',
      type: 'boolean',
      jsonPath: '.status.credentials.upToDate',
      description: 'Whether it carries the newest revision of its lineage.',
    },
    {
      name: 'Copies',
      type: 'integer',
      jsonPath: '.status.copies',
      description: 'Copies of this connection.',
    },
    READY_COLUMN,
    AGE_COLUMN,
  ],
};
