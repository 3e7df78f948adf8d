export * from './group.js';
export * from './account.js';
export * from './workspace.js';
export * from './clientinvitation.js';

import { AccountDefinition } from './account.js';
import { ClientInvitationDefinition } from './clientinvitation.js';
import { WorkspaceDefinition } from './workspace.js';

/** Every kind of the API, in the order they are applied (an account before its workspaces and invitations). */
export const KINDS = [AccountDefinition, WorkspaceDefinition, ClientInvitationDefinition] as const;
