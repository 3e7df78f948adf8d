import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Api } from '../../operator/src/kube/api.js';
import { KubeClient } from '../../operator/src/kube/client.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { REPO_ROOT } from '../../operator/tools/local/install.js';
import { eventually, rejection } from '../support/env.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm run dev', () => {
  it('brings up the platform with the examples Ready, shows their status and an invitation link, and Ctrl-C leaves nothing behind', async () => {
    // Its own process group, so that "Ctrl-C" reaches npm and everything under it, as in a terminal.
    const child = spawn('npm', ['run', '--silent', 'dev'], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, KUBECONFIG: '', DATABASE_URL: '' },
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    // 'close': every process holding the output (npm and the dev tool under it) has exited.
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    try {
      const lastTable = await eventually(
        'every example to be Ready in the status table',
        async () => {
          const tables = out.split(/\n(?=\d{4}-\d{2}-\d{2}T)/);
          const last = tables.at(-1) ?? '';
          const rows = last.split('\n').filter((l) => /^(Account|Workspace|ClientInvitation)\s/.test(l));
          return rows.length === 4 && rows.every((r) => /\sTrue\s/.test(r)) ? last : undefined;
        },
        240_000,
        500,
      ).catch((e: unknown) => {
        throw new Error(`${String(e)}\nstdout:\n${out.slice(-3000)}\nstderr:\n${err.slice(-3000)}`);
      });
      expect(lastTable).toMatch(/Account\s+northwind\s+Ready\s+True\s+plan growth, 2\/5 workspaces/);
      expect(lastTable).toMatch(/Workspace\s+northwind\/contoso\s+Ready\s+True/);
      expect(lastTable).toMatch(/ClientInvitation\s+northwind\/contoso-dana\s+Pending\s+True/);
      expect(lastTable).toMatch(/https:\/\/127\.0\.0\.1:\d+\/accept\?token=[A-Za-z0-9_-]{43}/);
      expect(out).toMatch(/export KUBECONFIG=/);
      expect(err).toContain('operator identity: system:serviceaccount:workspace-operator:workspace-operator');

      // The printed kubeconfig is the administrator's, not the operator's: deleting an account's namespace
      // outright is refused until it is confirmed, as for anyone (it would destroy the workspaces' data).
      const admin = new Api(await KubeClient.fromFile(/export KUBECONFIG=(\S+)/.exec(out)?.[1] ?? ''));
      try {
        const refused = await rejection(admin.delete(Resources.Namespace, { name: 'northwind' }));
        expect(refused.message).toMatch(/namespace northwind is the home of account northwind/);
        const ns = (await admin.get(Resources.Namespace, { name: 'northwind' })) as
          { metadata: { deletionTimestamp?: string } } | undefined;
        expect(ns?.metadata.deletionTimestamp).toBeUndefined();
      } finally {
        admin.client.close();
      }
    } finally {
      if (child.pid) process.kill(-child.pid, 'SIGINT');
    }
    const { code, signal } = await closed;
    // npm itself ends on the interrupt; the dev tool under it stops everything and exits cleanly.
    expect(code === 0 || signal === 'SIGINT').toBe(true);
    expect(err).toContain('stopped; nothing left running');
    const kubeconfig = /export KUBECONFIG=(\S+)/.exec(out)?.[1] ?? '';
    const pidsFile = join(dirname(kubeconfig), 'children.pid');
    expect(existsSync(pidsFile)).toBe(true);
    const pids = readFileSync(pidsFile, 'utf8')
      .split('\n')
      .map(Number)
      .filter((p) => p > 0);
    expect(pids.length).toBeGreaterThanOrEqual(4); // etcd, kube-apiserver, kube-controller-manager, postgres
    await eventually(
      'every child process to be gone',
      async () => (pids.every((p) => !alive(p)) ? true : undefined),
      20_000,
    );
  });
});
