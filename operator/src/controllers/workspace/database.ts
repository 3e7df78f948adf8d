import type { WorkspaceObject } from '../../caches.js';
import type { TenantNames } from '../../db/names.js';
import type { Server } from '../../db/servers.js';
import type { ControllerContext } from '../context.js';
import type { Password } from './credentials.js';
import { credentialsHash } from './desired.js';

/**
 * The database phase: the schema and LOGIN role, provisioned (idempotent DDL) only when the inventory misses them
 * or the role was last given another password than the Secret's. An idle pass sends no SQL. Returns the digest
 * recorded in status.
 */
export async function ensureDatabase(
  ctx: ControllerContext,
  obj: WorkspaceObject,
  names: TenantNames,
  password: Password,
  { db, inventory }: Server,
): Promise<string> {
  const hash = credentialsHash(password.value);
  if (inventory.has(names) && obj.status?.database?.credentialsHash === hash) return hash;
  await db.provisionTenant(names, password.value);
  inventory.record(names);
  if (password.rotated)
    ctx.events.emit(obj, 'Normal', 'CredentialsRotated', 'Rotate', `New password for role ${names.role}`);
  return hash;
}

/** The state outside the cluster goes first on deletion: the role's sessions end, then schema and role are dropped. */
export async function dropDatabase(names: TenantNames, { db, inventory }: Server): Promise<void> {
  await db.dropTenant(names);
  inventory.forget(names);
}
