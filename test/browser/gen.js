// Generates OTLP/JSON trace data for the browser tests: request traces
// edge → gateway → sidecar → app → db across datacenters dc-1, dc-2 and
// dc-3, where dc-2 fails 30% of requests and is slower, plus one very large
// batch trace. Output is deterministic for a given seed and base time.

// mulberry32 is a small seeded PRNG, so runs are reproducible.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hex(rand, bytes) {
  let s = '';
  for (let i = 0; i < bytes; i++) s += Math.floor(rand() * 256).toString(16).padStart(2, '0');
  return s;
}

const KIND = { internal: 1, server: 2, client: 3 };

function attr(key, value) {
  if (typeof value === 'number' && Number.isInteger(value)) return { key, value: { intValue: String(value) } };
  if (typeof value === 'number') return { key, value: { doubleValue: value } };
  if (typeof value === 'boolean') return { key, value: { boolValue: value } };
  return { key, value: { stringValue: String(value) } };
}

// Accumulates spans grouped by resource (service + datacenter).
class Batch {
  constructor() {
    this.groups = new Map();
    this.count = 0;
  }

  add(service, dc, span) {
    const k = `${service}|${dc}`;
    let g = this.groups.get(k);
    if (!g) {
      g = { service, dc, spans: [] };
      this.groups.set(k, g);
    }
    g.spans.push(span);
    this.count++;
  }

  toOTLP() {
    return {
      resourceSpans: [...this.groups.values()].map((g) => ({
        resource: { attributes: [attr('service.name', g.service), attr('datacenter', g.dc), attr('host.name', `${g.service}-${g.dc}-1`)] },
        scopeSpans: [{ scope: { name: 'waymark-browser-test', version: '1.0.0' }, spans: g.spans }],
      })),
    };
  }
}

function span({ traceId, spanId, parentSpanId, name, kind, startNs, durNs, error, attrs = [], events = [] }) {
  const s = {
    traceId,
    spanId,
    name,
    kind: KIND[kind],
    startTimeUnixNano: String(startNs),
    endTimeUnixNano: String(startNs + durNs),
    attributes: attrs,
    status: error ? { code: 2, message: 'upstream failure' } : { code: 0 },
  };
  if (parentSpanId) s.parentSpanId = parentSpanId;
  if (events.length) s.events = events;
  return s;
}

export const DATACENTERS = ['dc-1', 'dc-2', 'dc-3'];

// requests returns the OTLP payloads (several per call, at most perBatch
// spans each) of n requests spread over the window ending at endMs, and the
// list of { traceId, requestId, dc, failed } generated.
export function requests({ n, endMs, windowMs, seed = 42, perBatch = 2000 }) {
  const rand = mulberry32(seed);
  const out = [];
  const meta = [];
  let batch = new Batch();
  const ms = 1e6;
  for (let i = 0; i < n; i++) {
    const dc = DATACENTERS[i % 3];
    const failed = dc === 'dc-2' && rand() < 0.3;
    const slow = dc === 'dc-2' ? 2.5 : 1;
    const traceId = hex(rand, 16);
    const requestId = `req-${seed}-${i}`;
    const startNs = (endMs - windowMs + Math.floor((i / n) * (windowMs - 5000))) * ms;
    const ids = Array.from({ length: 7 }, () => hex(rand, 8));
    const dbCalls = 1 + Math.floor(rand() * 2);
    const dbDur = Math.round((2 + rand() * 4) * ms * slow);
    const appDur = Math.round(dbCalls * dbDur + (5 + rand() * 10) * ms * slow);
    const sideDur = appDur + 2 * ms;
    const gwDur = sideDur + 3 * ms;
    const edgeDur = gwDur + 2 * ms;
    const route = ['/checkout', '/cart', '/search'][i % 5 % 3];
    const status = failed ? 500 : 200;
    batch.add('edge', dc, span({ traceId, spanId: ids[0], name: `GET ${route}`, kind: 'server', startNs, durNs: edgeDur, error: failed,
      attrs: [attr('guid:x-request-id', requestId), attr('http.method', 'GET'), attr('http.route', route), attr('http.status_code', status)] }));
    batch.add('gateway', dc, span({ traceId, spanId: ids[1], parentSpanId: ids[0], name: `route ${route}`, kind: 'server', startNs: startNs + 1 * ms, durNs: gwDur, error: failed,
      attrs: [attr('x-request-id', requestId), attr('http.status_code', status)] }));
    batch.add('sidecar', dc, span({ traceId, spanId: ids[2], parentSpanId: ids[1], name: 'egress app', kind: 'client', startNs: startNs + 2 * ms, durNs: sideDur, error: failed,
      attrs: [attr('upstream_cluster', 'app'), attr('http.status_code', status)] }));
    batch.add('app', dc, span({ traceId, spanId: ids[3], parentSpanId: ids[2], name: `handle ${route}`, kind: 'server', startNs: startNs + 3 * ms, durNs: appDur, error: failed,
      attrs: [attr('http.route', route), attr('user.tier', i % 4 === 0 ? 'gold' : 'standard')],
      events: failed ? [{ timeUnixNano: String(startNs + 3 * ms + appDur - ms), name: 'exception', attributes: [attr('exception.type', 'DeadlineExceeded'), attr('exception.message', 'db pool exhausted')] }] : [] }));
    let t = startNs + 4 * ms;
    for (let c = 0; c < dbCalls; c++) {
      batch.add('db', dc, span({ traceId, spanId: ids[4 + c], parentSpanId: ids[3], name: 'SELECT orders', kind: 'client', startNs: t, durNs: dbDur, error: false,
        attrs: [attr('db.system', 'postgresql'), attr('db.statement', 'select * from orders where id = $1')] }));
      t += dbDur;
    }
    meta.push({ traceId, requestId, dc, failed });
    if (batch.count >= perBatch) {
      out.push(batch.toOTLP());
      batch = new Batch();
    }
  }
  if (batch.count) out.push(batch.toOTLP());
  return { payloads: out, traces: meta };
}

// bigTrace returns the OTLP payloads of one trace of exactly spans spans: a
// batch job fanning out 8 ways per level across a few services.
export function bigTrace({ spans, endMs, seed = 7, perBatch = 2000 }) {
  const rand = mulberry32(seed);
  const traceId = hex(rand, 16);
  const services = ['batcher', 'worker', 'storage', 'cache'];
  const ms = 1e6;
  const rootStart = (endMs - 20 * 60 * 1000) * ms;
  const nodes = [{ id: hex(rand, 8), start: rootStart, dur: 60_000 * ms, depth: 0 }];
  const payloads = [];
  let batch = new Batch();
  const emit = (k) => {
    const nd = nodes[k];
    const svc = services[Math.min(nd.depth, services.length - 1)];
    const error = k > 0 && k % 997 === 0;
    batch.add(svc, 'dc-1', span({ traceId, spanId: nd.id, parentSpanId: nd.parent, name: nd.depth === 0 ? 'nightly-reindex' : `${svc} step ${nd.depth}`, kind: nd.depth === 0 ? 'server' : 'internal', startNs: nd.start, durNs: nd.dur, error,
      attrs: [attr('item.index', k)] }));
    if (batch.count >= perBatch) {
      payloads.push(batch.toOTLP());
      batch = new Batch();
    }
  };
  // Breadth-first: children of node k are 8k+1 … 8k+8.
  for (let k = 1; k < spans; k++) {
    const p = nodes[Math.floor((k - 1) / 8)];
    const slot = (k - 1) % 8;
    const width = p.dur / 8;
    nodes.push({ id: hex(rand, 8), parent: p.id, start: Math.round(p.start + slot * width + width * 0.05), dur: Math.max(1000, Math.round(width * (0.5 + rand() * 0.4))), depth: p.depth + 1 });
  }
  for (let k = 0; k < spans; k++) emit(k);
  if (batch.count) payloads.push(batch.toOTLP());
  return { payloads, traceId };
}
