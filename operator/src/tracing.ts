import type { Span, SpanKind, Tracer } from '@opentelemetry/api';
import type { TracingSettings } from './config.js';
import { errorMessage, OperatorError } from './errors.js';
import type { Logger } from './log.js';

/**
 * Opt-in OpenTelemetry tracing behind one function, `span(name, attributes, fn)`. Off (no OTLP endpoint set) it
 * calls `fn` and nothing else: this module imports nothing of OpenTelemetry (types only), so neither the SDK nor
 * an exporter is loaded, and no context manager (async hook) is installed,
 * and the callers on hot paths (every API request, every statement) ask `tracingOn()` first so that they do not
 * even build the attributes. On, the SDK and the exporter are loaded with a dynamic `import()` at start.
 *
 * Attributes are metadata only: names, methods, paths, operation names. Never a request body, never SQL text
 * (statements carry password verifiers), never a header.
 */

export type SpanAttributes = Record<string, string | number | boolean | undefined>;

/** What the code inside a span may add: attributes known only at the end, and a failure that is not a throw. */
export interface ActiveSpan {
  setAttribute(key: string, value: string | number | boolean): void;
  /** Marks the span failed without an exception (a denial for a fault, a status kept as an answer). */
  fail(message: string): void;
}

export type SpanRole = 'internal' | 'client' | 'server';

const NOOP_SPAN: ActiveSpan = {
  setAttribute() {},
  fail() {},
};

/** SpanKind's values, written out so that choosing one needs no import of the API when tracing is off. */
const KIND: Record<SpanRole, SpanKind> = { internal: 0, server: 1, client: 2 };
/** SpanStatusCode.ERROR, likewise. */
const STATUS_ERROR = 2;

let tracer: Tracer | undefined;

/** Whether spans are recorded: hot paths check this before they build a span's attributes. */
export const tracingOn = (): boolean => tracer !== undefined;

class RecordingSpan implements ActiveSpan {
  constructor(readonly span: Span) {}
  setAttribute(key: string, value: string | number | boolean): void {
    this.span.setAttribute(key, value);
  }
  fail(message: string): void {
    this.span.setStatus({ code: STATUS_ERROR, message });
  }
}

/**
 * Runs `fn` inside a span named `name` (a child of the span the caller runs in); a throw marks it failed with
 * the error's message and its OperatorError code as `error.type`. Off, it is `fn(noop)`.
 */
export function span<T>(
  name: string,
  attributes: SpanAttributes,
  fn: (span: ActiveSpan) => Promise<T>,
  role: SpanRole = 'internal',
): Promise<T> {
  if (tracer === undefined) return fn(NOOP_SPAN);
  return tracer.startActiveSpan(name, { kind: KIND[role], attributes }, async (s) => {
    try {
      return await fn(new RecordingSpan(s));
    } catch (err) {
      s.setStatus({ code: STATUS_ERROR, message: errorMessage(err) });
      s.setAttribute('error.type', err instanceof OperatorError ? err.code : 'Error');
      throw err;
    } finally {
      s.end();
    }
  });
}

export interface Tracing {
  /** Exports the spans still buffered, then stops recording. */
  shutdown(): Promise<void>;
}

const OFF: Tracing = { shutdown: async () => {} };

let users = 0;
let provider: { shutdown(): Promise<void> } | undefined;

/**
 * Starts tracing when settings are given (an OTLP endpoint is configured); otherwise returns at once having
 * loaded nothing. The tracer is process-wide: operators started in one process (tests) share it, and the last
 * one to shut down flushes it.
 */
export async function startTracing(settings: TracingSettings | undefined, log: Logger): Promise<Tracing> {
  if (settings === undefined) return OFF;
  users++;
  if (provider === undefined) await install(settings, log);
  let done = false;
  return {
    async shutdown() {
      if (done) return;
      done = true;
      if (--users > 0) return;
      const p = provider;
      provider = undefined;
      tracer = undefined;
      await p?.shutdown();
      const { context, diag, trace } = await import('@opentelemetry/api');
      trace.disable();
      context.disable();
      diag.disable();
    },
  };
}

async function install(settings: TracingSettings, log: Logger): Promise<void> {
  const [{ diag, DiagLogLevel, trace }, sdk, resources, exporter] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/resources'),
    settings.protocol === 'http/json'
      ? import('@opentelemetry/exporter-trace-otlp-http')
      : import('@opentelemetry/exporter-trace-otlp-proto'),
  ]);
  // The SDK reports failed exports through diag: to the operator's log, at warn, never louder than it is.
  const diagLog = log.child({ component: 'tracing' });
  diag.setLogger(
    {
      error: (message) => diagLog.warn(message),
      warn: (message) => diagLog.warn(message),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    DiagLogLevel.WARN,
  );
  const ratio = new sdk.TraceIdRatioBasedSampler(settings.samplerRatio);
  const root = {
    always_on: new sdk.AlwaysOnSampler(),
    always_off: new sdk.AlwaysOffSampler(),
    traceidratio: ratio,
    parentbased_always_on: new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() }),
    parentbased_always_off: new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() }),
    parentbased_traceidratio: new sdk.ParentBasedSampler({ root: ratio }),
  }[settings.sampler];
  // OTEL_RESOURCE_ATTRIBUTES (the SDK's env detector) adds to and overrides the service name given here.
  const detected = resources.detectResources({ detectors: [resources.envDetector] });
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': settings.serviceName }))
    .merge(detected);
  // The exporter reads OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT and _COMPRESSION itself. The batch processor keeps
  // its defaults (a batch every 5 s, at most 2048 spans queued): this SDK no longer reads OTEL_BSP_*.
  const nodeProvider = new sdk.NodeTracerProvider({
    resource,
    sampler: root,
    spanProcessors: [new sdk.BatchSpanProcessor(new exporter.OTLPTraceExporter({ url: settings.url }))],
  });
  // Installs the AsyncLocalStorage context manager, which nests a span under the one its caller runs in.
  nodeProvider.register();
  provider = nodeProvider;
  tracer = trace.getTracer('workspace-operator');
  const { origin, pathname } = new URL(settings.url);
  log.info({ url: origin + pathname, protocol: settings.protocol }, 'tracing on: exporting spans over OTLP');
}
