import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { defaultCredentials, fileCredentials, inClusterCredentials } from './credentials.js';

const dir = mkdtempSync(join(tmpdir(), 'credentials-'));

function kubeconfig(
  name: string,
  user: Record<string, unknown>,
  cluster: Record<string, unknown> = {},
): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'here',
      clusters: [
        { name: 'other', cluster: { server: 'https://other.example:6443' } },
        { name: 'local', cluster: { server: 'https://127.0.0.1:6443', ...cluster } },
      ],
      users: [{ name: 'me', user }],
      contexts: [{ name: 'here', context: { cluster: 'local', user: 'me' } }],
    }),
  );
  return path;
}

describe('kubeconfig credentials', () => {
  it("reads the current context's cluster and user, files relative to the kubeconfig, again at each refresh", async () => {
    writeFileSync(join(dir, 'ca.pem'), 'CA');
    writeFileSync(join(dir, 'client.pem'), 'CERT');
    writeFileSync(join(dir, 'token'), 'first\n');
    const path = kubeconfig(
      'files',
      {
        'client-certificate': 'client.pem',
        'client-key-data': Buffer.from('KEY').toString('base64'),
        tokenFile: 'token',
      },
      { 'certificate-authority': 'ca.pem', 'tls-server-name': 'kubernetes' },
    );
    const creds = await fileCredentials(path);
    expect(creds.server.href).toBe('https://127.0.0.1:6443/');
    const first = await creds.refresh();
    expect(String(first.tls.ca)).toBe('CA');
    expect(String(first.tls.cert)).toBe('CERT');
    expect(String(first.tls.key)).toBe('KEY');
    expect(first.tls.servername).toBe('kubernetes');
    expect(first.headers.Authorization).toBe('Bearer first');
    writeFileSync(join(dir, 'token'), 'rotated');
    expect((await creds.refresh()).headers.Authorization).toBe('Bearer rotated');
  });

  it('leaves exec plugins to client-node, which runs them', async () => {
    const credential = JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: 'from-exec' },
    });
    const path = kubeconfig('exec', {
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: process.execPath,
        args: ['-e', `process.stdout.write(${JSON.stringify(credential)})`],
        interactiveMode: 'Never',
      },
    });
    const { headers } = await (await fileCredentials(path)).refresh();
    expect(headers.Authorization).toBe('Bearer from-exec');
  });

  it('takes the context it is given over the current one, and names the contexts there are when it is missing', async () => {
    const path = join(dir, 'contexts');
    writeFileSync(
      path,
      stringify({
        'current-context': 'here',
        clusters: [
          { name: 'local', cluster: { server: 'https://127.0.0.1:6443' } },
          { name: 'other', cluster: { server: 'https://other.example:6443' } },
        ],
        users: [{ name: 'me', user: { token: 'mine' } }],
        contexts: [
          { name: 'here', context: { cluster: 'local', user: 'me' } },
          { name: 'there', context: { cluster: 'other', user: 'me' } },
        ],
      }),
    );
    expect((await fileCredentials(path)).server.host).toBe('127.0.0.1:6443');
    expect((await fileCredentials(path, { context: 'there' })).server.host).toBe('other.example:6443');
    expect((await defaultCredentials({ KUBECONFIG: path }, { context: 'there' })).server.host).toBe(
      'other.example:6443',
    );
    await expect(fileCredentials(path, { context: 'nowhere' })).rejects.toThrow(
      /no context named nowhere \(it has here, there\)/,
    );
  });

  it('impersonates the user a kubeconfig names with as, and refuses the groups it cannot send', async () => {
    const path = kubeconfig('as', { token: 't', as: 'bob@acme.example' });
    const { headers } = await (await fileCredentials(path)).refresh();
    expect(headers['Impersonate-User']).toBe('bob@acme.example');
    expect(headers.Authorization).toBe('Bearer t');
    const groups = kubeconfig('as-groups', { token: 't', as: 'bob', 'as-groups': ['team'] });
    await expect(fileCredentials(groups)).rejects.toThrow(
      /as-groups or as-user-extra, which this client does not send/,
    );
  });

  it('names the file when it cannot be read as a kubeconfig', async () => {
    const path = join(dir, 'broken');
    writeFileSync(path, 'clusters: 3');
    await expect(fileCredentials(path)).rejects.toThrow(/kubeconfig .*broken: /);
  });
});

describe('in-cluster credentials', () => {
  it('use the service account token and CA, the token read again at each refresh', async () => {
    const sa = mkdtempSync(join(tmpdir(), 'sa-'));
    writeFileSync(join(sa, 'ca.crt'), 'CLUSTER-CA');
    writeFileSync(join(sa, 'token'), 'one');
    const creds = inClusterCredentials(
      { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
      sa,
    );
    expect(creds.server.href).toBe('https://10.0.0.1/');
    expect((await creds.refresh()).headers.Authorization).toBe('Bearer one');
    writeFileSync(join(sa, 'token'), 'two');
    const again = await creds.refresh();
    expect(again.headers.Authorization).toBe('Bearer two');
    expect(String(again.tls.ca)).toBe('CLUSTER-CA');
  });

  it('say what is missing outside a cluster with no kubeconfig', async () => {
    await expect(defaultCredentials({ HOME: dir })).rejects.toThrow(/no kubeconfig .* not in a cluster/);
  });
});
