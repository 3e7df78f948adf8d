import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceNamespace } from '../../operator/src/db/names.js';
import type { Api } from '../../operator/src/kube/api.js';
import { Resources } from '../../operator/src/kube/resources.js';
import { adminApi, uniqueName } from '../support/env.js';
import { createAccount, createWorkspace, secretData, waitReady } from '../support/fixtures.js';
import { startOperatorWithWebhook } from '../support/webhook.js';

/** A span as OTLP/HTTP JSON carries it (ids in hex), with its attributes flattened. */
interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean>;
  status: { code?: number; message?: string };
  startTimeUnixNano: string;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}

interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: OtlpValue }[] };
    scopeSpans?: {
      spans?: (Omit<ReceivedSpan, 'attributes'> & { attributes?: { key: string; value: OtlpValue }[] })[];
    }[];
  }[];
}

const valueOf = (v: OtlpValue): string | number | boolean =>
  v.stringValue ?? v.boolValue ?? v.doubleValue ?? Number(v.intValue ?? NaN);

const flatten = (attrs: { key: string; value: OtlpValue }[] = []) =>
  Object.fromEntries(attrs.map((a) => [a.key, valueOf(a.value)]));

/** A minimal OTLP/HTTP receiver: keeps every body posted to /v1/traces, raw and parsed. */
class Receiver {
  readonly bodies: string[] = [];
  readonly spans: ReceivedSpan[] = [];
  readonly services = new Set<string>();
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      if (req.url !== '/v1/traces' || !String(req.headers['content-type']).includes('json')) {
        res.writeHead(415).end();
        return;
      }
      this.bodies.push(text);
      for (const rs of (JSON.parse(text) as OtlpExport).resourceSpans ?? []) {
        const service = flatten(rs.resource?.attributes)['service.name'];
        if (typeof service === 'string') this.services.add(service);
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? []) this.spans.push({ ...s, attributes: flatten(s.attributes) });
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let api: Api;
const receiver = new Receiver();
const shard = uniqueName('tracing');
const account = uniqueName('traced');
const slug = 'alpha';
let password = '';
let stoppedAt = 0;
let operatorNs = '';

beforeAll(async () => {
  api = await adminApi();
  const endpoint = await receiver.start();
  const operator = await startOperatorWithWebhook({
    api,
    shard,
    accounts: [account],
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'operator-under-test',
    },
  });
  operatorNs = operator.operatorNs;
  try {
    await createAccount(api, shard, account);
    await createWorkspace(api, shard, account, slug);
    await waitReady(api, Resources.Workspace, account, slug);
    password =
      (await secretData(api, workspaceNamespace(account, slug), 'database-credentials')).password ?? '';
  } finally {
    // A graceful stop flushes what the batch processor still holds: everything below arrived by then.
    stoppedAt = Date.now();
    await operator.stop();
  }
});

afterAll(async () => {
  await receiver.close();
  api.client.close();
});

const named = (name: string) => receiver.spans.filter((s) => s.name === name);
const byId = () => new Map(receiver.spans.map((s) => [s.spanId, s]));

/** The spans from `s` up to its trace's root. */
function ancestors(s: ReceivedSpan): ReceivedSpan[] {
  const ids = byId();
  const chain: ReceivedSpan[] = [];
  for (let p = ids.get(s.parentSpanId); p; p = ids.get(p.parentSpanId)) chain.push(p);
  return chain;
}

describe('tracing with an OTLP endpoint set', () => {
  it('exports the reconcile of a workspace with its API calls and its provisioning SQL nested inside', () => {
    expect(receiver.services).toEqual(new Set(['operator-under-test']));
    const reconciles = named('reconcile workspace').filter(
      (s) => s.attributes['k8s.namespace.name'] === account && s.attributes['k8s.object.name'] === slug,
    );
    expect(reconciles.length).toBeGreaterThan(0);
    expect(reconciles[0]?.attributes).toMatchObject({
      'controller.name': 'workspace',
      'k8s.object.kind': 'Workspace',
    });

    // The provisioning transaction, its statements inside it, and the reconcile of this workspace above both.
    const provisions = named('postgresql provision transaction');
    expect(provisions.length).toBeGreaterThan(0);
    const provision = provisions.find((p) => ancestors(p).some((a) => reconciles.includes(a)));
    expect(provision, 'a provision transaction inside the reconcile of the workspace').toBeDefined();
    expect(provision?.attributes).toMatchObject({
      'db.system.name': 'postgresql',
      'db.operation.name': 'provision',
    });
    const statements = named('postgresql provision').filter((s) => s.parentSpanId === provision?.spanId);
    expect(statements.length).toBeGreaterThan(1);
    for (const s of statements) expect(s.traceId).toBe(provision?.traceId);

    // API calls of the same reconcile: the server-side apply of the credentials Secret among them.
    const calls = receiver.spans.filter(
      (s) => s.name.startsWith('kube ') && ancestors(s).some((a) => reconciles.includes(a)),
    );
    const path = `/api/v1/namespaces/${workspaceNamespace(account, slug)}/secrets/database-credentials`;
    const secretApply = calls.find((s) => s.attributes['url.path'] === path);
    expect(secretApply?.name).toBe('kube apply');
    expect(secretApply?.attributes).toMatchObject({ 'http.request.method': 'PATCH', 'k8s.verb': 'apply' });
    expect([200, 201]).toContain(secretApply?.attributes['http.response.status_code']);
    expect(secretApply?.kind).toBe(3); // SPAN_KIND_CLIENT in OTLP's numbering
  });

  it('exports the admission of the workspace with its kind, operation and verdict', () => {
    const admissions = named('admission').filter(
      (s) =>
        s.attributes['admission.kind'] === 'Workspace' && s.attributes['admission.operation'] === 'CREATE',
    );
    expect(admissions.length).toBeGreaterThan(0);
    expect(admissions[0]?.attributes['admission.allowed']).toBe(true);
    expect(admissions[0]?.kind).toBe(2); // SPAN_KIND_SERVER
  });

  it('marks a failed API call as an error', () => {
    // Reads of objects that do not exist yet (404) are part of every first reconcile.
    const failed = receiver.spans.filter((s) => s.attributes['http.response.status_code'] === 404);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]?.status.code).toBe(2); // STATUS_CODE_ERROR
    expect(failed[0]?.attributes['error.type']).toBe('NotFound');
  });

  it('flushes at a graceful stop, so the spans of the stop itself arrive', () => {
    // The batch processor exports every 5 s; the Lease is released during the stop, and its span arrived anyway.
    const lease = `/namespaces/${operatorNs}/leases/`;
    const duringStop = receiver.spans.filter(
      (s) =>
        Number(BigInt(s.startTimeUnixNano) / 1_000_000n) >= stoppedAt &&
        s.name === 'kube update' &&
        String(s.attributes['url.path']).includes(lease),
    );
    expect(duringStop.length).toBeGreaterThan(0);
  });

  it('puts neither the workspace password nor any SQL into what it exports', () => {
    expect(password.length).toBeGreaterThan(10);
    expect(receiver.spans.length).toBeGreaterThan(0);
    const everything = receiver.bodies.join('\n');
    expect(everything).not.toContain(password);
    expect(everything).not.toMatch(/SCRAM-SHA-256\$/);
    // Statement words, not the admission's operation CREATE.
    expect(everything).not.toMatch(
      /CREATE (ROLE|SCHEMA)|ALTER (ROLE|DEFAULT)|GRANT |SELECT |BEGIN|COMMIT|PASSWORD/,
    );
    for (const s of receiver.spans)
      for (const value of Object.values(s.attributes)) expect(String(value)).not.toContain(password);
  });
});
