import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../errors.js';
import { describeIssues } from '../api/issues.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { conflictMessage, type Claims } from './claims.js';
import type { ServingMaterial } from './certs.js';
import { AdmissionReview, reviewResponse, type Verdict } from './review.js';
import { validate } from './validators/index.js';
import type { WebhookView } from './view.js';

/** The API server sends at most 3 MiB of object; a review wraps up to two of them. */
export const MAX_BODY_BYTES = 7 * 1024 * 1024;

export interface Answer {
  status: number;
  body: unknown;
}

export interface ReviewDeps {
  view: WebhookView;
  claims: Pick<Claims, 'reserve'>;
  log: Logger;
  metrics?: Metrics;
}

const badRequest = (message: string): Answer => ({
  status: 400,
  body: { apiVersion: 'v1', kind: 'Status', status: 'Failure', code: 400, reason: 'BadRequest', message },
});

function uidOf(json: unknown): string | undefined {
  if (!json || typeof json !== 'object') return undefined;
  const request = (json as { request?: unknown }).request;
  if (!request || typeof request !== 'object') return undefined;
  const uid = (request as { uid?: unknown }).uid;
  return typeof uid === 'string' && uid.length > 0 && uid.length <= 128 ? uid : undefined;
}

/**
 * Answers one AdmissionReview body. Fails closed: anything that is not a well-formed review of a valid object is a
 * denial (with a uid to answer to) or a 400 (without one); an error inside a validator is a denial with a reason,
 * never an accidental allow.
 */
export async function answerReview(body: Buffer, deps: ReviewDeps): Promise<Answer> {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return badRequest('the request body is not JSON');
  }
  const parsed = AdmissionReview.safeParse(json);
  if (!parsed.success) {
    const uid = uidOf(json);
    const message = `malformed AdmissionReview: ${describeIssues(parsed.error.issues.slice(0, 5), 'review')}`;
    return uid
      ? { status: 200, body: reviewResponse(uid, { allowed: false, message }) }
      : badRequest(message);
  }
  const req = parsed.data.request;
  let verdict: Verdict;
  try {
    const decision = await validate(req, deps.view);
    verdict = decision;
    if (decision.allowed) {
      for (const claim of decision.claims ?? []) {
        const reservation = await deps.claims.reserve(claim, req.uid, req.dryRun === true);
        if (!reservation.ok) {
          verdict = { allowed: false, message: conflictMessage(claim) };
          break;
        }
      }
    }
  } catch (err) {
    deps.log.error(
      { uid: req.uid, kind: req.kind.kind, err: errorMessage(err) },
      'validation failed; denying',
    );
    verdict = {
      allowed: false,
      message: `workspace-operator could not validate the request, so it is refused: ${errorMessage(err)}`,
    };
  }
  deps.metrics?.webhookRequests.inc({
    kind: req.kind.kind,
    operation: req.operation,
    allowed: String(verdict.allowed),
  });
  return { status: 200, body: reviewResponse(req.uid, verdict) };
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      return resolve('too-large');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve('too-large');
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export type Route = (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void>;

/**
 * The operator's HTTPS server: `/validate` for admission reviews (and further routes, such as the invitation
 * accept endpoint). New certificates are loaded with setSecureContext: connections already open keep theirs, new
 * handshakes get the new one, and no request is dropped.
 */
export class WebhookServer {
  private server: https.Server | undefined;
  private readonly routes = new Map<string, Route>();

  constructor(private readonly deps: ReviewDeps & { host: string; port: number }) {
    this.routes.set('/validate', async (_req, res, body) => {
      const started = performance.now();
      const answer = await answerReview(body, deps);
      deps.metrics?.webhookSeconds.observe((performance.now() - started) / 1000);
      send(res, answer);
    });
  }

  route(path: string, handler: Route): void {
    this.routes.set(path, handler);
  }

  async start(material: ServingMaterial): Promise<number> {
    const server = https.createServer(
      { cert: material.certificate, key: material.privateKey, minVersion: 'TLSv1.2' },
      (req, res) => void this.handle(req, res),
    );
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    server.requestTimeout = 30_000;
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.deps.port, this.deps.host, () => resolve());
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  reload(material: ServingMaterial): void {
    this.server?.setSecureContext({
      cert: material.certificate,
      key: material.privateKey,
      minVersion: 'TLSv1.2',
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const route = this.routes.get(path);
      if (!route) return send(res, { status: 404, body: { message: `no route ${path}` } });
      if (req.method !== 'POST' && !(req.method === 'GET' && path !== '/validate')) {
        return send(res, { status: 405, body: { message: `${req.method} is not allowed on ${path}` } });
      }
      const body = await readBody(req, MAX_BODY_BYTES);
      if (body === 'too-large') {
        res.setHeader('Connection', 'close');
        return send(res, {
          status: 413,
          body: { message: `request bodies are limited to ${MAX_BODY_BYTES} bytes` },
        });
      }
      await route(req, res, body);
    } catch (err) {
      this.deps.log.error({ err: errorMessage(err) }, 'HTTPS request failed');
      if (!res.headersSent) send(res, { status: 500, body: { message: 'internal error' } });
      else res.destroy();
    }
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 5_000).unref();
    });
  }
}

export function send(res: ServerResponse, answer: Answer): void {
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}
