import { createHash } from 'node:crypto';
import type { ConnectionSpec } from '../api/v1alpha1/connection.js';
import { plural } from '../api/text.js';

/**
 * The lineage rules of connections, shared by the webhook (which refuses what breaks them) and the controllers
 * (which follow them): a copy's credentials are always its lineage's original source's, found by walking `copyOf`.
 */

/** A connection as these rules read it: its name and its parsed spec (undefined when it does not parse). */
export interface ConnectionEntry {
  name: string;
  spec: ConnectionSpec | undefined;
}

/** Copies of copies nest at most this deep: a longer chain is refused like a cycle. */
export const MAX_LINEAGE_DEPTH = 32;

/** The Secret in the workspace namespace that carries a connection's credentials. */
export const mountedSecretName = (connection: string): string => `connection-${connection}`;
export const MOUNTED_SECRET_PREFIX = 'connection-';

export type Lineage =
  /** `chain` runs from the connection itself to its source, both included. */
  | { ok: true; source: string; sourceSpec: ConnectionSpec; chain: string[] }
  | { ok: false; problem: 'missing' | 'cycle' | 'too-deep' | 'invalid'; at: string; chain: string[] };

/** The account's connections as these rules read them, from the typed objects the cache holds. */
export function connectionEntries(
  objects: Iterable<{ metadata: { name: string }; spec: ConnectionSpec | undefined }>,
): ConnectionEntry[] {
  return [...objects].map((c) => ({ name: c.metadata.name, spec: c.spec }));
}

/** Walks `copyOf` from `name`, among the account's connections, up to the connection that is not a copy. */
export function lineageOf(name: string, all: readonly ConnectionEntry[]): Lineage {
  const byName = new Map(all.map((e) => [e.name, e]));
  const get = (n: string) => byName.get(n);
  const chain: string[] = [];
  let current = name;
  for (;;) {
    if (chain.includes(current)) return { ok: false, problem: 'cycle', at: current, chain };
    chain.push(current);
    if (chain.length > MAX_LINEAGE_DEPTH) return { ok: false, problem: 'too-deep', at: current, chain };
    const entry = get(current);
    if (!entry) return { ok: false, problem: 'missing', at: current, chain };
    if (!entry.spec) return { ok: false, problem: 'invalid', at: current, chain };
    const parent = entry.spec.copyOf?.name;
    if (parent === undefined) return { ok: true, source: current, sourceSpec: entry.spec, chain };
    current = parent;
  }
}

/** What is wrong with a lineage that does not reach a source, in words. */
export function lineageProblem(lineage: Extract<Lineage, { ok: false }>): string {
  const path = lineage.chain.join(' → ');
  switch (lineage.problem) {
    case 'missing':
      return `connection ${lineage.at} does not exist (lineage ${path})`;
    case 'cycle':
      return `copyOf runs in a cycle (${path} → ${lineage.at}); a lineage must end at a connection with credentials`;
    case 'too-deep':
      return `copies nest more than ${MAX_LINEAGE_DEPTH} deep (${path})`;
    case 'invalid':
      return `connection ${lineage.at} has an invalid spec`;
  }
}

/** Every connection that is a copy of `name`, directly or through other copies, with its workspace. */
export function copiesOf(
  name: string,
  all: Iterable<ConnectionEntry>,
): { name: string; workspace: string }[] {
  const children = new Map<string, ConnectionEntry[]>();
  for (const c of all) {
    const parent = c.spec?.copyOf?.name;
    if (parent === undefined) continue;
    const list = children.get(parent);
    if (list) list.push(c);
    else children.set(parent, [c]);
  }
  const out: { name: string; workspace: string }[] = [];
  const seen = new Set([name]);
  const queue = [name];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift() ?? '') ?? []) {
      if (seen.has(child.name)) continue;
      seen.add(child.name);
      out.push({ name: child.name, workspace: child.spec?.workspace ?? '' });
      queue.push(child.name);
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** "connection X has 3 copies (workspace a, b, c)". */
export function describeCopies(name: string, copies: readonly { workspace: string }[]): string {
  const workspaces = [...new Set(copies.map((c) => c.workspace))].sort();
  const where = `${workspaces.length === 1 ? 'workspace' : 'workspaces'} ${workspaces.join(', ')}`;
  return `connection ${name} has ${plural(copies.length, 'copy', 'copies')} (${where})`;
}

/** The workspaces a lineage reaches: its source's and every copy's. */
export function lineageWorkspaces(source: string, all: readonly ConnectionEntry[]): string[] {
  const own = all.find((c) => c.name === source)?.spec?.workspace;
  const set = new Set(copiesOf(source, all).map((c) => c.workspace));
  if (own !== undefined) set.add(own);
  return [...set].sort();
}

export { contentDigest } from '../kube/digest.js';

/**
 * What status shows of one set of credentials: a short digest salted with the Secret's uid, so equal credentials in
 * two Secrets do not read alike, and the full content digest stays in memory only.
 */
export function revisionDigest(secretUid: string, content: string): string {
  return createHash('sha256').update(`${secretUid}\0${content}`).digest('hex').slice(0, 16);
}

/** The workspace's connections that have copies in other workspaces: they hold the workspace back. */
export function copiedElsewhere(slug: string, all: readonly ConnectionEntry[]): string | undefined {
  const held = all
    .filter((c) => c.spec?.workspace === slug)
    .map((c) => ({ name: c.name, copies: copiesOf(c.name, all).filter((x) => x.workspace !== slug) }))
    .filter((c) => c.copies.length > 0);
  if (held.length === 0) return undefined;
  return `workspace ${slug} has connections copied to other workspaces: ${held.map((c) => describeCopies(c.name, c.copies)).join('; ')}; delete those copies first`;
}
