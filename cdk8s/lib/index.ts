export * from './account.js';
export * from './workspace.js';
export * from './client-invitation.js';
export * from './connection.js';
export * from './operator-install.js';
