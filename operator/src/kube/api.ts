import { isCode } from '../errors.js';
import type { KubeClient } from './client.js';
import { apiVersionOf, resourcePath, type ResourceType } from './resources.js';

/** The field manager every write of the operator uses, so server-side apply knows which fields are ours. */
export const FIELD_MANAGER = 'workspace-operator';

export interface ObjectRef {
  namespace?: string | undefined;
  name: string;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  limit?: number;
  continue?: string;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
}

export interface ListPage {
  items: unknown[];
  resourceVersion: string;
  continue: string | undefined;
  /** The server's count of the items after this page, when it gives one (lists without selectors). */
  remainingItemCount?: number;
}

function metaOf(obj: unknown): { name?: string; namespace?: string } {
  if (obj && typeof obj === 'object' && 'metadata' in obj) {
    const m = (obj as { metadata?: unknown }).metadata;
    if (m && typeof m === 'object') return m as { name?: string; namespace?: string };
  }
  return {};
}

/** Typed verbs over the REST client. Bodies in and out stay `unknown`: callers parse with their zod schema. */
export class Api {
  constructor(readonly client: KubeClient) {}

  /** The object, or undefined when it does not exist. */
  async get(r: ResourceType, ref: ObjectRef): Promise<unknown> {
    try {
      return await this.client.request({ method: 'GET', path: resourcePath(r, ref) });
    } catch (err) {
      if (isCode(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  async listPage(r: ResourceType, opts: ListOptions = {}): Promise<ListPage> {
    const body = (await this.client.request({
      method: 'GET',
      verb: 'list',
      path: resourcePath(r, { namespace: opts.namespace }),
      query: {
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        resourceVersion: opts.resourceVersion,
        limit: opts.limit,
        continue: opts.continue,
      },
    })) as {
      items?: unknown[];
      metadata?: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
    };
    return {
      items: body.items ?? [],
      resourceVersion: body.metadata?.resourceVersion ?? '',
      continue: body.metadata?.continue || undefined,
      remainingItemCount: body.metadata?.remainingItemCount,
    };
  }

  /**
   * The pages of a collection, following `continue` tokens; all are served from the first page's snapshot. A caller
   * that is done with each page before the next one holds one page in memory, not the whole collection.
   */
  async *pages(r: ResourceType, opts: ListOptions = {}): AsyncGenerator<ListPage> {
    let page = await this.listPage(r, { limit: 500, ...opts });
    yield page;
    while (page.continue) {
      page = await this.listPage(r, { limit: 500, ...opts, continue: page.continue });
      yield page;
    }
  }

  /** Every object of a collection, following `continue` tokens. */
  async list(
    r: ResourceType,
    opts: ListOptions = {},
  ): Promise<{ items: unknown[]; resourceVersion: string }> {
    const items: unknown[] = [];
    let resourceVersion = '';
    for await (const page of this.pages(r, opts)) {
      items.push(...page.items);
      resourceVersion = page.resourceVersion;
    }
    return { items, resourceVersion };
  }

  async create(r: ResourceType, obj: unknown, opts: WriteOptions = {}): Promise<unknown> {
    return this.client.request({
      method: 'POST',
      path: resourcePath(r, { namespace: metaOf(obj).namespace }),
      query: { dryRun: opts.dryRun ? 'All' : undefined, fieldManager: opts.fieldManager ?? FIELD_MANAGER },
      body: { apiVersion: apiVersionOf(r), kind: r.kind, ...(obj as object) },
    });
  }

  /** A full update with the object's resourceVersion as precondition. */
  async replace(
    r: ResourceType,
    obj: unknown,
    opts: WriteOptions & { subresource?: string } = {},
  ): Promise<unknown> {
    const m = metaOf(obj);
    return this.client.request({
      method: 'PUT',
      path: resourcePath(r, { namespace: m.namespace, name: m.name, subresource: opts.subresource }),
      query: { dryRun: opts.dryRun ? 'All' : undefined, fieldManager: opts.fieldManager ?? FIELD_MANAGER },
      body: obj,
    });
  }

  /**
   * Server-side apply: the object holds exactly the fields the operator owns. `force` takes fields over from
   * other managers, as a controller must for the objects it is responsible for.
   */
  async apply(
    r: ResourceType,
    obj: unknown,
    opts: WriteOptions & { subresource?: string; force?: boolean } = {},
  ): Promise<unknown> {
    const m = metaOf(obj);
    if (!m.name) throw new Error(`apply ${r.kind}: metadata.name is required`);
    return this.client.request({
      method: 'PATCH',
      path: resourcePath(r, { namespace: m.namespace, name: m.name, subresource: opts.subresource }),
      query: {
        fieldManager: opts.fieldManager ?? FIELD_MANAGER,
        force: opts.force ?? true,
        dryRun: opts.dryRun ? 'All' : undefined,
      },
      contentType: 'application/apply-patch+yaml',
      body: { apiVersion: apiVersionOf(r), kind: r.kind, ...(obj as object) },
    });
  }

  /** A JSON merge patch, for the few writes that must not take field ownership (finalizers). */
  async mergePatch(
    r: ResourceType,
    ref: ObjectRef,
    patch: unknown,
    opts: { subresource?: string } = {},
  ): Promise<unknown> {
    return this.client.request({
      method: 'PATCH',
      path: resourcePath(r, { ...ref, subresource: opts.subresource }),
      query: { fieldManager: FIELD_MANAGER },
      contentType: 'application/merge-patch+json',
      body: patch,
    });
  }

  /** A JSON patch (RFC 6902), whose `test` operations make a write conditional. */
  async jsonPatch(
    r: ResourceType,
    ref: ObjectRef,
    ops: unknown[],
    opts: { subresource?: string; dryRun?: boolean } = {},
  ): Promise<unknown> {
    return this.client.request({
      method: 'PATCH',
      path: resourcePath(r, { ...ref, subresource: opts.subresource }),
      query: { fieldManager: FIELD_MANAGER, dryRun: opts.dryRun ? 'All' : undefined },
      contentType: 'application/json-patch+json',
      body: ops,
    });
  }

  /** Deletes the object; false when it was already gone. */
  async delete(
    r: ResourceType,
    ref: ObjectRef,
    opts: {
      dryRun?: boolean;
      uid?: string;
      resourceVersion?: string;
      propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
    } = {},
  ): Promise<boolean> {
    const preconditions =
      opts.uid !== undefined || opts.resourceVersion !== undefined
        ? { uid: opts.uid, resourceVersion: opts.resourceVersion }
        : undefined;
    try {
      await this.client.request({
        method: 'DELETE',
        path: resourcePath(r, ref),
        body: {
          apiVersion: 'v1',
          kind: 'DeleteOptions',
          preconditions,
          propagationPolicy: opts.propagationPolicy ?? 'Background',
          dryRun: opts.dryRun ? ['All'] : undefined,
        },
      });
      return true;
    } catch (err) {
      if (isCode(err, 'NotFound')) return false;
      throw err;
    }
  }
}
