import fc from 'fast-check';
import https from 'node:https';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api } from '../../operator/src/kube/api.js';
import type { Operator } from '../../operator/src/operator.js';
import type { SelfSignedCertificates } from '../../operator/src/tls/certs.js';
import { MAX_BODY_BYTES } from '../../operator/src/webhook/server.js';
import { fuzzCases } from '../../operator/tools/fuzz/reviews.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { adminApi, uniqueName } from '../support/env.js';
import { createAccount, createWorkspace, waitReady } from '../support/fixtures.js';
import { apiServerClientTls, startOperatorWithWebhook } from '../support/webhook.js';

const shard = uniqueName('endpoint');
const account = `${shard}-acme`;
const teammate = `olivia@${account}.example`;
let api: Api;
let operator: Operator;
let stop: () => Promise<void> = async () => {};
let agent: https.Agent;

beforeAll(async () => {
  api = await adminApi();
  ({ operator, stop } = await startOperatorWithWebhook({ api, shard, accounts: [account] }));
  await createAccount(api, shard, account, { teammates: [{ email: teammate, role: 'Owner' }] });
  await createWorkspace(api, shard, account, 'web');
  await waitReady(api, Resources.Workspace, account, 'web');
  const material = await operator.webhook!.certificates.current();
  // The webhook takes only the API server's client certificate; these tests speak as the API server.
  agent = new https.Agent({
    keepAlive: true,
    maxSockets: 16,
    ca: material.caBundle,
    ...apiServerClientTls(),
  });
});

afterAll(async () => {
  agent?.destroy();
  await stop();
  api.client.close();
});

function post(body: Buffer, a: https.Agent = agent): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: operator.webhook!.port,
        path: '/validate',
        method: 'POST',
        agent: a,
        headers: { 'Content-Type': 'application/json', 'Content-Length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const validUpdate = (uid: string) =>
  Buffer.from(
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid,
        kind: { group: 'taskjuice.io', version: 'v1alpha1', kind: 'Workspace' },
        resource: { group: 'taskjuice.io', version: 'v1alpha1', resource: 'workspaces' },
        operation: 'UPDATE',
        namespace: account,
        userInfo: { username: 'someone', groups: [] },
        object: { metadata: { name: 'web', namespace: account }, spec: { displayName: 'Web' } },
        oldObject: { metadata: { name: 'web', namespace: account }, spec: { displayName: 'Web' } },
      },
    }),
  );

describe('the webhook endpoint', () => {
  it('answers generated hostile input with a well-formed review or a 4xx, never a crash, never an allow of an invalid object', async () => {
    let wrongAllows = 0;
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(fuzzCases({ account, workspace: 'web', teammateEmail: teammate }), async (c) => {
        cases++;
        const { status, json } = await post(c.body);
        expect([200, 400, 413]).toContain(status);
        if (status !== 200) return;
        const response = (
          json as { response?: { uid?: string; allowed?: unknown; status?: { message?: string } } }
        ).response;
        expect(typeof response?.allowed).toBe('boolean');
        if (c.uid) expect(response?.uid).toBe(c.uid);
        if (c.invalid && response?.allowed) wrongAllows++;
        expect(
          c.invalid && response?.allowed,
          `allowed an invalid object: ${c.body.toString('utf8').slice(0, 300)}`,
        ).toBe(false);
      }),
      { numRuns: 2_000 },
    );
    console.log(`[fuzz] ${cases} generated reviews over HTTPS: 0 crashes, ${wrongAllows} wrong allows`);
    // Still serving after all of it.
    expect((await post(validUpdate('after-fuzz'))).status).toBe(200);
  });

  it('refuses a body over the size the API server can send with 413, and keeps serving', async () => {
    const { status } = await post(
      Buffer.alloc(MAX_BODY_BYTES + 1, 'x'),
      new https.Agent({
        ca: (await operator.webhook!.certificates.current()).caBundle,
        ...apiServerClientTls(),
      }),
    );
    expect(status).toBe(413);
    expect((await post(validUpdate('after-large'))).status).toBe(200);
  });

  it('loses no request while its certificate rotates', async () => {
    const fingerprint = async () =>
      new Promise<string>((resolve, reject) => {
        const socket = tls.connect(
          {
            host: '127.0.0.1',
            port: operator.webhook!.port,
            ca: agent.options.ca,
            servername: 'localhost',
            ...apiServerClientTls(),
          },
          () => {
            resolve(socket.getPeerCertificate().fingerprint256);
            socket.end();
          },
        );
        socket.on('error', reject);
      });
    const before = await fingerprint();
    let ok = 0;
    let failed = 0;
    let running = true;
    const worker = async (w: number) => {
      for (let i = 0; running; i++) {
        try {
          const { status, json } = await post(validUpdate(`rot-${w}-${i}`));
          if (status === 200 && (json as { response: { allowed: boolean } }).response.allowed) ok++;
          else failed++;
        } catch {
          failed++;
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    await new Promise((r) => setTimeout(r, 500));
    await (operator.webhook!.certificates as SelfSignedCertificates).rotateNow();
    await new Promise((r) => setTimeout(r, 1_000));
    const after = await fingerprint();
    running = false;
    await Promise.all(workers);
    console.log(`[rotation] ${ok} requests answered during a rotation, ${failed} lost`);
    expect(after).not.toBe(before);
    expect(failed).toBe(0);
    expect(ok).toBeGreaterThan(50);
  });
});
