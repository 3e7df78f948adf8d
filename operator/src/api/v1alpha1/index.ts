export * from './group.js';
export * from './account.js';
export * from './workspace.js';
export * from './clientinvitation.js';
export * from './connection.js';
export * from './databaseserver.js';

import { AccountDefinition } from './account.js';
import { ClientInvitationDefinition } from './clientinvitation.js';
import { ConnectionDefinition } from './connection.js';
import { DatabaseServerDefinition } from './databaseserver.js';
import { WorkspaceDefinition } from './workspace.js';

/** Every kind of the API, in the order they are applied (an account before its workspaces, invitations and connections). */
export const KINDS = [
  AccountDefinition,
  WorkspaceDefinition,
  ClientInvitationDefinition,
  ConnectionDefinition,
  DatabaseServerDefinition,
] as const;
