import { z } from 'zod';
import { AGE_COLUMN, READY_COLUMN, type KindDefinition } from '../crd.js';
import { Conditions, KubeObject, ObservedGeneration } from '../meta.js';

/** The name of the server the configuration's DATABASE_URL points at; a DatabaseServer of this name tunes it. */
export const DEFAULT_SERVER = 'default';

export const ServerState = z
  .enum(['Active', 'Cordoned', 'Draining'])
  .describe(
    'Active takes new workspaces; Cordoned keeps its workspaces and takes no new ones; Draining takes none and its workspaces are to be moved away.',
  );
export type ServerState = z.infer<typeof ServerState>;

/** A Secret in the operator's namespace and the entry of it that holds one value. */
const secretEntry = (defaultKey: string, entry: string) =>
  z.object({
    name: z.string().min(1).max(253).describe("Name of the Secret, in the operator's namespace."),
    key: z.string().min(1).max(253).default(defaultKey).describe(entry),
  });

export const DatabaseServerSpec = z
  .object({
    connectionSecret: secretEntry(
      'uri',
      'The entry holding a postgres:// connection string of a role with CREATEROLE that owns the database (default uri, as in a CloudNativePG app Secret).',
    )
      .optional()
      .describe(
        "The Secret with the operator's connection to this server. Required, except for the server named default, which is the configuration's DATABASE_URL.",
      ),
    clientCA: secretEntry(
      'ca.crt',
      'The entry holding the CA certificate in PEM (default ca.crt, as in a CloudNativePG <cluster>-ca Secret).',
    )
      .optional()
      .describe(
        "The Secret with the CA certificate that signed this server's certificate. Workspaces placed here get it in their Secrets as ca.crt, for sslmode=verify-full. Only that entry is used (a CA key beside it is never copied).",
      ),
    capacity: z
      .number()
      .int()
      .min(0)
      .max(1000000)
      .default(10000)
      .describe('How many workspaces the server may hold (default 10000).'),
    state: ServerState.default('Active'),
  })
  .describe('A PostgreSQL server the operator may place workspaces on.');
export type DatabaseServerSpec = z.infer<typeof DatabaseServerSpec>;

export const DatabaseServerStatus = z
  .object({
    observedGeneration: ObservedGeneration.optional(),
    reachable: z.boolean().optional().describe('Whether the operator reached the server at its last look.'),
    version: z.string().max(100).optional().describe('The server version, as the server reports it.'),
    workspaces: z.number().int().min(0).optional().describe('Workspaces placed on this server.'),
    freeCapacity: z.number().int().optional().describe('Capacity left: capacity less the workspaces placed.'),
    conditions: Conditions.optional(),
  })
  .describe('Observed state of the server.');
export type DatabaseServerStatus = z.infer<typeof DatabaseServerStatus>;

export const DatabaseServer = KubeObject.extend({
  spec: DatabaseServerSpec,
  status: DatabaseServerStatus.optional(),
});
export type DatabaseServer = z.infer<typeof DatabaseServer>;

export const DatabaseServerDefinition: KindDefinition = {
  kind: 'DatabaseServer',
  plural: 'databaseservers',
  singular: 'databaseserver',
  shortNames: ['dbs'],
  scope: 'Cluster',
  description:
    'A PostgreSQL server the operator may place new workspaces on, with its capacity and state. A workspace stays on the server it was placed on; the configuration’s DATABASE_URL is the server named default.',
  spec: DatabaseServerSpec,
  status: DatabaseServerStatus,
  rootValidations: [
    {
      rule: "self.metadata.name == 'default' || has(self.spec.connectionSecret)",
      message:
        'spec.connectionSecret is required (only the server named default takes its connection from DATABASE_URL)',
      fieldPath: '.spec.connectionSecret',
    },
  ],
  printerColumns: [
    { name: 'State', type: 'string', jsonPath: '.spec.state', description: 'Active, Cordoned or Draining.' },
    { name: 'Capacity', type: 'integer', jsonPath: '.spec.capacity', description: 'Workspaces it may hold.' },
    {
      name: 'Workspaces',
      type: 'integer',
      jsonPath: '.status.workspaces',
      description: 'Workspaces placed on it.',
    },
    { name: 'Free', type: 'integer', jsonPath: '.status.freeCapacity', description: 'Capacity left.' },
    { name: 'Reachable', type: 'boolean', jsonPath: '.status.reachable', description: 'Whether it answers.' },
    {
      name: 'Version',
      type: 'string',
      jsonPath: '.status.version',
      description: 'Server version.',
      priority: 1,
    },
    READY_COLUMN,
    AGE_COLUMN,
  ],
};
