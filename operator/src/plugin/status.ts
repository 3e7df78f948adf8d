import { conditionOf, isReady, namespaceOf, type AccountView } from './view.js';

/**
 * `kubectl taskjuice status <account>`, in the manner of `kubectl cnpg status`: a summary of the account first,
 * then one table per kind, and last what needs attention, with the message of the condition that says why.
 * Pure: it renders what view.ts read.
 */

/** Something of the account that is not Ready: its kind, name, and the condition that says why. */
export interface Unready {
  kind: string;
  name: string;
  /** The condition that explains it: Stalled when true, else Ready. */
  condition: string;
  reason: string;
  message: string;
}

/** Cells of a table, padded as `kubectl get` pads its columns (two spaces apart). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** An age as kubectl prints it: 45s, 12m, 5h, 3d. */
export function age(timestamp: string | undefined, now: Date): string {
  if (timestamp === undefined) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now.getTime() - Date.parse(timestamp)) / 1000));
  if (Number.isNaN(seconds)) return '<unknown>';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

type Conditioned = Parameters<typeof isReady>[0] & { kind: string; metadata: { name: string } };

function unreadyOf(obj: Conditioned): Unready | undefined {
  if (isReady(obj)) return undefined;
  const stalled = conditionOf(obj, 'Stalled');
  const ready = conditionOf(obj, 'Ready');
  const why = stalled?.status === 'True' ? stalled : ready;
  return {
    kind: obj.kind,
    name: obj.metadata.name,
    condition: why ? `${why.type}=${why.status}` : 'Ready missing',
    reason: why?.reason ?? 'NoStatus',
    message:
      why?.message ?? 'the operator has written no status yet: is it running, and does it watch this object?',
  };
}

/** Everything of the account that is not Ready, account first. */
export function unready(view: AccountView): Unready[] {
  const account = view.account === undefined ? [] : [view.account];
  return [...account, ...view.workspaces, ...view.invitations, ...view.connections]
    .map(unreadyOf)
    .filter((u): u is Unready => u !== undefined);
}

const readyCell = (obj: Conditioned) => conditionOf(obj, 'Ready')?.status ?? '-';
const or = (value: string | number | undefined, fallback = '-') =>
  value === undefined || value === '' ? fallback : String(value);

export interface Where {
  server: string;
  context?: string;
  /** The user impersonated (`--as`). */
  as?: string;
}

/** The cluster line: the server, and the context and user when given. */
export const whereText = (where: Where): string =>
  [where.server, where.context && `context ${where.context}`, where.as && `as ${where.as}`]
    .filter(Boolean)
    .join(', ');

/** The summary lines: the account's plan and limit when the caller may read the Account, else why not. */
function summaryOf(view: AccountView, where: Where): string[][] {
  const { account } = view;
  const place = [
    ['Cluster', whereText(where)],
    ['Home namespace', view.namespace],
  ];
  if (account === undefined)
    return [
      ['Account', `${view.name} (the Account itself cannot be read: ${view.accountDenied ?? 'not allowed'})`],
      ...place,
      ['Workspaces', String(view.workspaces.length)],
    ];
  const plan = account.status?.plan;
  const limit = plan?.workspaceLimit;
  const count = account.status?.workspaceCount ?? view.workspaces.length;
  const owners = account.spec.teammates.filter((t) => t.role === 'Owner').map((t) => t.email);
  return [
    ['Account', `${account.metadata.name} (${account.spec.displayName})`],
    ...place,
    [
      'Plan',
      plan
        ? `${or(plan.name, '(none)')}${plan.resolved ? '' : ' (not in the plan catalog)'}`
        : or(account.spec.plan, '(none)'),
    ],
    [
      'Workspace limit',
      limit === undefined ? '-' : `${limit}${plan?.limitSource ? ` (from ${plan.limitSource})` : ''}`,
    ],
    ['Workspaces', limit === undefined ? String(count) : `${count} of ${limit}`],
    ['Teammates', `${account.spec.teammates.length} (Owners: ${owners.join(', ')})`],
    ['Ready', readyCell(account)],
  ];
}

export function renderStatus(view: AccountView, now: Date, where: Where): string {
  const summary = summaryOf(view, where);
  const width = Math.max(...summary.map(([k]) => (k ?? '').length)) + 1;
  const sections = [
    'Account Summary',
    ...summary.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`),
    '',
    `Workspaces (${view.workspaces.length})`,
    view.workspaces.length === 0
      ? 'none'
      : table(
          ['NAME', 'PHASE', 'NAMESPACE', 'CLIENTS', 'READY', 'AGE'],
          view.workspaces.map((ws) => [
            ws.metadata.name,
            or(ws.status?.phase),
            namespaceOf(view.name, ws),
            ws.status?.clients?.length ? ws.status.clients.join(',') : '-',
            readyCell(ws),
            age(ws.metadata.creationTimestamp, now),
          ]),
        ),
    '',
    `Invitations (${view.invitations.length})`,
    view.invitations.length === 0
      ? 'none'
      : table(
          ['NAME', 'WORKSPACE', 'EMAIL', 'PHASE', 'SENT', 'EXPIRES', 'READY'],
          view.invitations.map((inv) => [
            inv.metadata.name,
            inv.spec.workspace,
            inv.spec.email,
            inv.spec.revoked && inv.status?.phase !== 'Revoked'
              ? `${or(inv.status?.phase)} (revoking)`
              : or(inv.status?.phase),
            or(inv.status?.sentAt),
            inv.status?.phase === 'Pending' ? or(inv.status.expiresAt) : '-',
            readyCell(inv),
          ]),
        ),
    '',
    `Connections (${view.connections.length})`,
    view.connections.length === 0
      ? 'none'
      : table(
          ['NAME', 'WORKSPACE', 'PROVIDER', 'SOURCE', 'REVISION', 'UP TO DATE', 'COPIES', 'READY'],
          view.connections.map((c) => [
            c.metadata.name,
            c.spec.workspace,
            or(c.status?.provider ?? c.spec.provider),
            or(c.status?.source ?? c.spec.copyOf?.name),
            or(c.status?.credentials?.revision),
            c.status?.credentials === undefined ? '-' : String(c.status.credentials.upToDate),
            or(c.status?.copies),
            readyCell(c),
          ]),
        ),
    '',
  ];
  const problems = unready(view);
  sections.push(
    problems.length === 0 ? 'Not Ready: nothing; every object is Ready.' : `Not Ready (${problems.length})`,
  );
  if (problems.length > 0)
    sections.push(
      table(
        ['KIND', 'NAME', 'CONDITION', 'REASON', 'MESSAGE'],
        problems.map((p) => [p.kind, p.name, p.condition, p.reason, p.message]),
      ),
    );
  return `${sections.join('\n')}\n`;
}
