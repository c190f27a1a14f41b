// Sends one known trace to Waymark through the OpenTelemetry JavaScript SDK
// and its OTLP/HTTP (JSON) exporter, as a Node.js service would.
//
// Environment:
//   WAYMARK_OTLP_TRACES_URL  the full OTLP/HTTP traces URL (required),
//                            e.g. http://127.0.0.1:4318/v1/traces
//   WAYMARK_TENANT           sent as X-Scope-OrgID when set
//   WAYMARK_TRACE_START_US   start of the root span in Unix microseconds
//                            (default: one minute ago)
//
// On success it prints one JSON line: {"traceId", "startUs", "spans": {name:
// spanId}}. Any export error makes it exit with status 1.
import { diag, DiagLogLevel, SpanKind, SpanStatusCode, trace, ROOT_CONTEXT } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

const url = process.env.WAYMARK_OTLP_TRACES_URL;
if (!url) {
  console.error('WAYMARK_OTLP_TRACES_URL is not set');
  process.exit(2);
}

// Export failures reach the SDK's global error handler, which logs them
// through diag: record them so the exit status tells the caller.
const errors = [];
diag.setLogger({
  error: (...args) => errors.push(args.map(String).join(' ')),
  warn: (...args) => console.error('warn:', ...args),
  info: () => {},
  debug: () => {},
  verbose: () => {},
}, DiagLogLevel.WARN);

const headers = {};
if (process.env.WAYMARK_TENANT) {
  headers['X-Scope-OrgID'] = process.env.WAYMARK_TENANT;
}

const startUs = process.env.WAYMARK_TRACE_START_US
  ? BigInt(process.env.WAYMARK_TRACE_START_US)
  : BigInt(Date.now() - 60_000) * 1000n;

// at returns the SDK's [seconds, nanoseconds] time offsetUs after the start.
function at(offsetUs) {
  const us = startUs + BigInt(offsetUs);
  return [Number(us / 1_000_000n), Number(us % 1_000_000n) * 1000];
}

const exporter = new OTLPTraceExporter({ url, headers });
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({
    'service.name': 'js-storefront',
    'service.version': '2.4.1',
    'host.name': 'node-js-1',
  }),
  spanProcessors: [new BatchSpanProcessor(exporter)],
});
const tracer = provider.getTracer('waymark-interop', '0.1.0');

const root = tracer.startSpan('GET /products', {
  kind: SpanKind.SERVER,
  startTime: at(0),
  attributes: {
    'http.request.method': 'GET',
    'http.response.status_code': 200,
    'cache.hit': false,
    'sample.ratio': 0.75,
  },
}, ROOT_CONTEXT);
const rootCtx = trace.setSpan(ROOT_CONTEXT, root);

const query = tracer.startSpan('SELECT products', {
  kind: SpanKind.CLIENT,
  startTime: at(5_000),
  attributes: { 'db.system.name': 'postgresql', 'db.rows': 42 },
}, rootCtx);
query.addEvent('cache miss', { 'cache.key': 'products:all' }, at(6_000));
query.end(at(45_500));

const render = tracer.startSpan('render', { kind: SpanKind.INTERNAL, startTime: at(50_000) }, rootCtx);
render.setStatus({ code: SpanStatusCode.ERROR, message: 'template missing' });
render.end(at(110_000));

const publish = tracer.startSpan('publish product-viewed', {
  kind: SpanKind.PRODUCER,
  startTime: at(111_000),
  links: [{ context: query.spanContext() }],
}, rootCtx);
publish.setStatus({ code: SpanStatusCode.OK });
publish.end(at(112_250));

root.end(at(120_000));

await provider.shutdown();
if (errors.length > 0) {
  console.error('export failed:', errors.join('; '));
  process.exit(1);
}
const spans = {};
for (const s of [root, query, render, publish]) {
  spans[s.name] = s.spanContext().spanId;
}
console.log(JSON.stringify({ traceId: root.spanContext().traceId, startUs: startUs.toString(), spans }));
