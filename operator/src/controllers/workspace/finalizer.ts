import type { WorkspaceObject } from '../../caches.js';
import { isCode } from '../../errors.js';
import { Resources } from '../../kube/resources.js';
import type { ControllerContext } from '../context.js';
import { FINALIZER } from './desired.js';

/**
 * Adds the finalizer to this very object (its uid is a precondition), never to a new one of the same name: a patch
 * creates nothing, so a workspace deleted meanwhile stays deleted. False when it is gone.
 */
export function addFinalizer(ctx: ControllerContext, obj: WorkspaceObject): Promise<boolean> {
  const current = obj.metadata.finalizers;
  return patchFinalizers(ctx, obj, [
    ...(current ? [{ op: 'test', path: '/metadata/finalizers', value: current }] : []),
    current
      ? { op: 'add', path: '/metadata/finalizers/-', value: FINALIZER }
      : { op: 'add', path: '/metadata/finalizers', value: [FINALIZER] },
  ]);
}

/** Only this finalizer goes, only from this object, and only if the list is still the one read (else: retry). */
export function removeFinalizer(ctx: ControllerContext, obj: WorkspaceObject): Promise<boolean> {
  const finalizers = obj.metadata.finalizers ?? [];
  return patchFinalizers(ctx, obj, [
    { op: 'test', path: '/metadata/finalizers', value: finalizers },
    { op: 'replace', path: '/metadata/finalizers', value: finalizers.filter((f) => f !== FINALIZER) },
  ]);
}

/** A JSON patch of the finalizers of this object (by uid); false when the object no longer exists. */
async function patchFinalizers(
  ctx: ControllerContext,
  obj: WorkspaceObject,
  ops: unknown[],
): Promise<boolean> {
  try {
    const written = await ctx.api.jsonPatch(
      Resources.Workspace,
      { namespace: obj.metadata.namespace, name: obj.metadata.name },
      [{ op: 'test', path: '/metadata/uid', value: obj.metadata.uid }, ...ops],
    );
    ctx.caches.workspaces.observe(written);
    return true;
  } catch (err) {
    if (isCode(err, 'NotFound')) return false;
    throw err;
  }
}
