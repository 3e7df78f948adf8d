import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import { OperatorError, errorMessage, isCode } from '../errors.js';
import type { Api } from '../kube/api.js';
import { Resources } from '../kube/resources.js';
import { OPERATOR_SELECTOR, operatorStatus } from './operator-status.js';
import { sanitize, secretSummary } from './redact.js';
import { renderStatus, whereText, type Where } from './status.js';
import { tarGz, type TarEntry } from './tar.js';
import { namespaceOf, readAccountView } from './view.js';

/**
 * `kubectl taskjuice report <account>`: what Support asks for, in one file. The account's objects with their
 * status and conditions, the Events about them and in their namespaces, the names and keys (never the values) of
 * the Secrets there, and the operator's Deployments and pods as their status says. Nothing that carries a
 * credential is written: Secrets are reduced to name, type and keys before anything is kept, every object loses
 * its managedFields and its last-applied-configuration (which holds whatever was applied, a Secret's data
 * included), and token digests are removed.
 */

const EventShape = z.looseObject({
  type: z.string().optional(),
  reason: z.string().optional(),
  note: z.string().optional(),
  eventTime: z.string().nullish(),
  deprecatedLastTimestamp: z.string().nullish(),
  deprecatedCount: z.number().optional(),
  series: z.object({ count: z.number().optional(), lastObservedTime: z.string().optional() }).optional(),
  reportingController: z.string().optional(),
  regarding: z
    .object({ kind: z.string().optional(), name: z.string().optional(), namespace: z.string().optional() })
    .optional(),
  metadata: z.looseObject({ namespace: z.string().optional(), creationTimestamp: z.string().optional() }),
});
type EventShape = z.infer<typeof EventShape>;

const eventTime = (e: EventShape) =>
  e.series?.lastObservedTime ??
  e.deprecatedLastTimestamp ??
  e.eventTime ??
  e.metadata.creationTimestamp ??
  '';

const MAX_EVENTS_PER_NAMESPACE = 1000;

export interface ReportResult {
  path: string;
  files: string[];
  problems: string[];
}

export async function writeReport(
  api: Api,
  accountName: string,
  opts: {
    output: string | undefined;
    now: Date;
    where: Where;
    version: string;
  },
): Promise<ReportResult> {
  const view = await readAccountView(api, accountName);
  const stamp = opts.now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const base = `taskjuice-report-${accountName}-${stamp}`;
  const output = resolve(opts.output ?? `${base}.tar.gz`);
  const archive = /\.(tar\.gz|tgz)$/.test(output);
  if (archive ? existsSync(output) : existsSync(output) && readdirSync(output).length > 0)
    throw new OperatorError('AlreadyExists', `${output} already exists; name another with -o`);

  const problems: string[] = [];
  /** A read the bundle can do without: what failed goes to problems.txt, the rest of the bundle is written. */
  async function attempt<T>(what: string, read: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await read();
    } catch (err) {
      problems.push(`${what}: ${isCode(err, 'Forbidden') ? 'not allowed: ' : ''}${errorMessage(err)}`);
      return fallback;
    }
  }

  const workspaceNamespaces = view.workspaces.map((ws) => namespaceOf(accountName, ws));
  const namespaces = [view.namespace, ...workspaceNamespaces];
  const files: TarEntry[] = [];
  const add = (path: string, content: string) => files.push({ path, content });
  const yamlOf = (objects: unknown[]) =>
    objects.length === 0 ? '# none\n' : objects.map((o) => stringify(sanitize(o))).join('---\n');

  add('status.txt', renderStatus(view, opts.now, opts.where));
  if (view.account === undefined)
    problems.push(`get Account ${accountName}: not allowed: ${view.accountDenied ?? ''}`);
  // The objects as the API server holds them, not as this plugin's schemas read them: a field or value of a newer
  // operator, and what a default would hide, is what Support may need to see.
  const rawAccount =
    view.account === undefined ? undefined : await api.get(Resources.Account, { name: accountName });
  add(
    'account.yaml',
    rawAccount === undefined ? '# the Account could not be read: see problems.txt\n' : yamlOf([rawAccount]),
  );
  for (const [file, r] of [
    ['workspaces.yaml', Resources.Workspace],
    ['invitations.yaml', Resources.ClientInvitation],
    ['connections.yaml', Resources.Connection],
  ] as const) {
    const items = await attempt(
      `list ${r.plural} in ${view.namespace}`,
      async () => (await api.list(r, { namespace: view.namespace })).items,
      [],
    );
    add(file, yamlOf(items));
  }

  const nsObjects = await Promise.all(
    namespaces.map((name) =>
      attempt(`get namespace ${name}`, () => api.get(Resources.Namespace, { name }), undefined),
    ),
  );
  add('namespaces.yaml', yamlOf(nsObjects.filter((n) => n !== undefined)));

  const secrets = await Promise.all(
    namespaces.map((namespace) =>
      attempt(
        `list Secrets in ${namespace}`,
        async () => (await api.list(Resources.Secret, { namespace })).items.map(secretSummary),
        [],
      ),
    ),
  );
  add(
    'secrets.yaml',
    `# Names, types and keys of the Secrets in the account's namespaces; their values are never read into the report.\n${yamlOf(secrets.flat())}`,
  );

  const eventLists = await Promise.all(
    [...namespaces, 'default'].map((namespace) =>
      attempt(
        `list Events in ${namespace}`,
        async () => {
          const { items } = await api.list(Resources.Event, { namespace });
          const events = items.map((e) => EventShape.parse(e));
          // Account Events go to `default` (an Account has no namespace): only this account's are kept there.
          const mine =
            namespace === 'default'
              ? events.filter((e) => e.regarding?.kind === 'Account' && e.regarding.name === accountName)
              : events;
          return mine
            .sort((a, b) => eventTime(a).localeCompare(eventTime(b)))
            .slice(-MAX_EVENTS_PER_NAMESPACE);
        },
        [],
      ),
    ),
  );
  const events = eventLists.flat().sort((a, b) => eventTime(a).localeCompare(eventTime(b)));
  add(
    'events.txt',
    events.length === 0
      ? 'no Events\n'
      : `${events
          .map((e) =>
            [
              eventTime(e),
              e.type ?? '',
              e.reason ?? '',
              `${e.regarding?.kind ?? ''}/${e.regarding?.namespace ? `${e.regarding.namespace}/` : ''}${e.regarding?.name ?? ''}`,
              e.reportingController ?? '',
              (e.note ?? '').replace(/\s+/g, ' '),
            ].join('  '),
          )
          .join('\n')}\n`,
  );
  add('events.yaml', yamlOf(events));

  add('operator.yaml', await operatorStatus(api, attempt));
  add('problems.txt', problems.length === 0 ? 'every read succeeded\n' : `${problems.join('\n')}\n`);
  add(
    'README.txt',
    [
      `Support bundle of account ${accountName}, written ${opts.now.toISOString()} by kubectl-taskjuice ${opts.version}`,
      `from ${whereText(opts.where)}.`,
      '',
      'status.txt        what `kubectl taskjuice status` prints: plan, workspaces, invitations, connections, what is not Ready',
      'account.yaml      the Account, with its spec, status and conditions',
      'workspaces.yaml   its Workspaces; invitations.yaml its ClientInvitations; connections.yaml its Connections',
      `namespaces.yaml   the home namespace ${view.namespace} and the ${workspaceNamespaces.length} workspace namespaces`,
      'secrets.yaml      the Secrets of those namespaces: names, types and keys only, never their values',
      'events.txt        the Events of those namespaces and of the Account, oldest first (events.yaml: in full)',
      `operator.yaml     the operator's Deployments (label ${OPERATOR_SELECTOR}) and their pods, status only`,
      'problems.txt      what could not be read (for example what the caller is not allowed to list)',
      '',
      'Left out on purpose: every Secret value, managedFields, kubectl last-applied-configuration annotations,',
      "invitation token digests, and the pods' specs and logs. Add the operator's log yourself if Support asks:",
      '  kubectl logs -n <namespace> deployment/workspace-operator --all-containers',
      '',
    ].join('\n'),
  );

  const ordered = [...files].sort((a, b) => (a.path === 'README.txt' ? -1 : b.path === 'README.txt' ? 1 : 0));
  if (archive) {
    mkdirSync(dirname(output), { recursive: true });
    writeFileSync(
      output,
      tarGz(
        ordered.map((f) => ({ path: `${base}/${f.path}`, content: f.content })),
        opts.now,
      ),
      { flag: 'wx' },
    );
  } else {
    mkdirSync(output, { recursive: true });
    for (const f of ordered) writeFileSync(join(output, f.path), f.content, { flag: 'wx' });
  }
  return { path: output, files: ordered.map((f) => f.path), problems };
}
