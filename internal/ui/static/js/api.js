// Same-origin API client: the Jaeger API, Waymark's /api/waymark/ endpoints
// and (when present) Tempo's tag-values API. Every request carries the
// tenant from the URL as X-Scope-OrgID.

import { tenant } from './router.js';

export class APIError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    q.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

// get fetches path with params and returns the envelope's data (or the whole
// body when it has no envelope). It throws APIError with the server's message.
// A timing object, when given, receives the milliseconds spent until the
// body was in (fetchMs) and parsing it (parseMs).
export async function get(path, params, { signal, timing } = {}) {
  const t0 = performance.now();
  const headers = { Accept: 'application/json' };
  const t = tenant();
  if (t) headers['X-Scope-OrgID'] = t;
  const res = await fetch(path + query(params), { headers, signal });
  let body = null;
  const text = await res.text();
  const t1 = performance.now();
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (timing) {
    timing.fetchAt = t0;
    timing.bodyAt = t1;
    timing.fetchMs = Math.round(t1 - t0);
    timing.parseMs = Math.round(performance.now() - t1);
  }
  if (!res.ok) {
    const msg = body && body.errors && body.errors[0] ? body.errors[0].msg : (text || res.statusText).trim();
    throw new APIError(res.status, `${res.status}: ${msg}`);
  }
  if (body && Array.isArray(body.errors) && body.errors.length && !body.data) {
    throw new APIError(body.errors[0].code || 500, body.errors[0].msg);
  }
  return body && typeof body === 'object' && 'data' in body ? body.data : body;
}

// getRaw fetches path and returns the parsed body and its byte size.
export async function getRaw(path, { signal } = {}) {
  const headers = { Accept: 'application/json' };
  const t = tenant();
  if (t) headers['X-Scope-OrgID'] = t;
  const res = await fetch(path, { headers, signal });
  const text = await res.text();
  if (!res.ok) {
    let msg = text;
    try {
      const b = JSON.parse(text);
      if (b.errors && b.errors[0]) msg = b.errors[0].msg;
    } catch { /* plain text error */ }
    throw new APIError(res.status, `${res.status}: ${msg.trim() || res.statusText}`);
  }
  return { body: JSON.parse(text), text };
}

const cache = new Map();

function cached(key, fn) {
  const k = `${tenant()}|${key}`;
  if (!cache.has(k)) {
    const p = fn().catch((e) => {
      cache.delete(k);
      throw e;
    });
    cache.set(k, p);
  }
  return cache.get(k);
}

export function services() {
  return cached('services', () => get('/api/services').then((d) => (d || []).slice().sort()));
}

export function operations(service) {
  if (!service) return Promise.resolve([]);
  return cached(`ops|${service}`, () => get(`/api/services/${encodeURIComponent(service)}/operations`).then((d) => (d || []).slice().sort()));
}

// tagKeys returns the attribute keys seen in the last day, each with its
// values: [{key, scopes, values, truncated}]. It resolves to [] on failure.
export function tagKeys() {
  const now = Date.now() * 1000;
  return cached('tags', () => get('/api/waymark/tags', { start: Math.floor(now - 86400e6), end: Math.ceil(now) }).then((d) => d || [])).catch(() => []);
}

// tagValues returns the values seen for key: from Waymark's tag summary,
// else from the Tempo v2 tag-values API when that is served here. It
// resolves to [] when neither knows the key, and stops asking the Tempo API
// after a 404.
let tagValuesMissing = false;
export async function tagValues(key) {
  if (!key) return [];
  const known = (await tagKeys()).find((k) => k.key === key);
  if (known) return known.values;
  if (tagValuesMissing) return [];
  return cached(`tagv|${key}`, () => get(`/api/v2/search/tag/${encodeURIComponent(`.${key}`)}/values`)
    .then((d) => ((d && d.tagValues) || []).map((v) => (typeof v === 'object' ? v.value : v)))
    .catch((e) => {
      if (e.status === 404) tagValuesMissing = true;
      return [];
    }));
}

// fetchTrace returns a trace in the compact form the trace view reads.
export function fetchTrace(id, opts) {
  return get(`/api/waymark/trace/${encodeURIComponent(id)}`, {}, opts);
}

// fetchJaegerTrace returns a trace's Jaeger API JSON as text (for download
// and the JSON view).
export async function fetchJaegerTrace(id, opts) {
  return (await getRaw(`/api/traces/${encodeURIComponent(id)}`, opts)).text;
}

export function clearCache() {
  cache.clear();
}
