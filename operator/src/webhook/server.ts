import { errorMessage } from '../errors.js';
import { describeIssues } from '../api/issues.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { conflictMessage, type Claims } from '../domain/claims.js';
import type { ServingMaterial } from '../tls/certs.js';
import { AdmissionReview, reviewResponse, type Verdict } from './review.js';
import { validate } from './validators/index.js';
import { HttpsServer, send, type Answer, type ClientAuth } from '../tls/https-server.js';
import type { WebhookView } from './view.js';
import { span, tracingOn, type ActiveSpan } from '../tracing.js';

/** The API server sends at most 3 MiB of object; a review wraps up to two of them. */
export const MAX_BODY_BYTES = 7 * 1024 * 1024;

export type { Answer };

/** The kinds the webhook is registered for; any other value a review claims is counted as `other`. */
const KNOWN_KINDS: ReadonlySet<string> = new Set([
  'Account',
  'Workspace',
  'ClientInvitation',
  'Connection',
  'Namespace',
  'Secret',
]);

/** A metric label from a review's kind: only known values, so a forged review cannot add series. */
export function kindLabel(kind: string): string {
  return KNOWN_KINDS.has(kind) ? kind : 'other';
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
export function answerReview(body: Buffer, deps: ReviewDeps): Promise<Answer> {
  if (!tracingOn()) return review(body, deps, undefined);
  return span('admission', {}, (s) => review(body, deps, s), 'server');
}

async function review(body: Buffer, deps: ReviewDeps, traced: ActiveSpan | undefined): Promise<Answer> {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    deps.metrics?.webhookErrors.inc({ reason: 'bad_request' });
    traced?.fail('the request body is not JSON');
    return badRequest('the request body is not JSON');
  }
  const parsed = AdmissionReview.safeParse(json);
  if (!parsed.success) {
    const uid = uidOf(json);
    deps.metrics?.webhookErrors.inc({ reason: uid ? 'malformed' : 'bad_request' });
    const message = `malformed AdmissionReview: ${describeIssues(parsed.error.issues.slice(0, 5), 'review')}`;
    traced?.fail('malformed AdmissionReview');
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
    deps.metrics?.webhookErrors.inc({ reason: 'validation_failed' });
    traced?.fail(`validation failed: ${errorMessage(err)}`);
    deps.log.error(
      { uid: req.uid, kind: req.kind.kind, err: errorMessage(err) },
      'validation failed; denying',
    );
    verdict = {
      allowed: false,
      message: `workspace-operator could not validate the request, so it is refused: ${errorMessage(err)}`,
    };
  }
  if (traced) {
    // The same closed values as the metric's labels: a forged review cannot put its own text in a span.
    traced.setAttribute('admission.kind', kindLabel(req.kind.kind));
    traced.setAttribute('admission.operation', req.operation);
    traced.setAttribute('admission.allowed', verdict.allowed);
    if (req.dryRun === true) traced.setAttribute('admission.dry_run', true);
  }
  deps.metrics?.webhookRequests.inc({
    kind: kindLabel(req.kind.kind),
    // Already one of four: the review schema takes no other operation.
    operation: req.operation,
    allowed: String(verdict.allowed),
  });
  return { status: 200, body: reviewResponse(req.uid, verdict) };
}

/**
 * The admission webhook's listener: `/validate` and nothing else, for the API server alone. With `clientAuth` it
 * takes only connections that present the API server's client certificate.
 */
export class WebhookServer {
  private readonly server: HttpsServer;

  constructor(deps: ReviewDeps & { host: string; port: number; clientAuth?: ClientAuth | undefined }) {
    this.server = new HttpsServer({
      host: deps.host,
      port: deps.port,
      log: deps.log,
      maxBodyBytes: MAX_BODY_BYTES,
      clientAuth: deps.clientAuth,
      routes: {
        '/validate': {
          methods: ['POST'],
          handler: async (_req, res, body) => {
            const started = performance.now();
            const webhook = { webhook: '/validate' };
            deps.metrics?.webhookInFlight.inc(webhook);
            try {
              const answer = await answerReview(body, deps);
              const seconds = (performance.now() - started) / 1000;
              deps.metrics?.webhookSeconds.observe(seconds);
              deps.metrics?.webhookLatency.observe(webhook, seconds);
              deps.metrics?.webhookResponses.inc({ ...webhook, code: String(answer.status) });
              send(res, answer);
            } finally {
              deps.metrics?.webhookInFlight.dec(webhook);
            }
          },
        },
      },
    });
  }

  start(material: ServingMaterial): Promise<number> {
    return this.server.start(material);
  }

  reload(material: ServingMaterial): void {
    this.server.reload(material);
  }

  reloadClientCa(ca: string): void {
    this.server.reloadClientCa(ca);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
