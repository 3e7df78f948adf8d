import { Annotations } from '../../api/v1alpha1/group.js';
import type { WorkspaceObject } from '../../caches.js';
import type { TenantNames } from '../../db/names.js';
import type { Server } from '../../db/servers.js';
import { newPassword } from '../../db/scram.js';
import { SECRET_NAME } from '../../domain/children.js';
import { ensure } from '../../kube/apply.js';
import { Resources } from '../../kube/resources.js';
import type { ControllerContext } from '../context.js';
import type { Place } from './access.js';
import { credentialsSecret, passwordOf } from './desired.js';

export interface Password {
  value: string;
  /** A new one, made because the rotate annotation asked for it. */
  rotated: boolean;
}

/**
 * The credentials phase. The Secret holds the password: it is written before the role gets it, so a crash in
 * between leaves a Secret whose password the next pass gives to the role. A new password is made only when there
 * is no usable one, or when the rotate annotation carries a value not yet carried out.
 */
export async function ensureCredentials(
  ctx: ControllerContext,
  obj: WorkspaceObject,
  { account, slug, namespace }: Place,
  names: TenantNames,
  server: Server,
): Promise<Password> {
  const { api, caches } = ctx;
  const current = passwordOf(caches.secrets.get(`${namespace}/${SECRET_NAME}`)?.data);
  const rotation = obj.metadata.annotations?.[Annotations.rotateCredentials];
  const rotate =
    current !== undefined && rotation !== undefined && rotation !== obj.status?.database?.rotation;
  const value = current === undefined || rotate ? newPassword() : current;
  const desired = credentialsSecret(namespace, account, slug, names, value, server.client);
  await ensure(api, caches.secrets, Resources.Secret, desired);
  return { value, rotated: rotate };
}
