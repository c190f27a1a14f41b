// Trace model: turns the compact trace JSON into a span tree with
// depths, a pre-order list, per-service counts, self times and the critical
// path. Everything here is iterative so that very deep traces cannot
// overflow the call stack.

// NO_CHILDREN is shared by leaf spans until they get a child.
const NO_CHILDREN = Object.freeze([]);

const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUS = ['UNSET', 'OK', 'ERROR'];

// pairs turns flat[from:to], a [key, value, …] list whose keys index
// strings, into [{key, value}].
function pairs(flat, strings, from = 0, to = flat ? flat.length : 0) {
  const out = [];
  for (let k = from; k + 1 < to; k += 2) out.push({ key: strings[flat[k]], value: flat[k + 1] });
  return out;
}

// The compact form sends span IDs as 11 base64url digits each, and columns
// of small integers as a string of one base64url digit per span.
const ID_DIGITS = 11;
const B64 = new Int8Array(128).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('').forEach((c, v) => { B64[c.charCodeAt(0)] = v; });
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

// idAt returns the k-th span ID of an ids string in hex.
function idAt(ids, k) {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (let c = k * ID_DIGITS, end = c + ID_DIGITS; c < end; c++) {
    acc = ((acc << 6) | B64[ids.charCodeAt(c) & 127]) & 0x3fff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += HEX[(acc >> bits) & 0xff];
    }
  }
  return out;
}

// smallInts returns a column of n small integers as an array: the array it
// was sent as, or the values of its base64url digits.
function smallInts(col, n) {
  if (typeof col !== 'string') return col;
  const out = new Uint8Array(n);
  for (let k = 0; k < n && k < col.length; k++) out[k] = Math.max(0, B64[col.charCodeAt(k) & 127]);
  return out;
}

// Span is one span of the model. The ID, attributes, events and links are
// decoded from the compact arrays only when first read, so a large trace
// opens without building strings and objects nobody looks at. src holds
// what every span of a trace shares: { ct, attrStart, errKey }.
class Span {
  constructor(src, k, res) {
    this.src = src;
    this.k = k;
    this.i = 0;
    this.parent = null;
    this.children = NO_CHILDREN;
    this.process = res;
    const cs = src.ct.spans;
    this.op = src.ct.strings[cs.name[k]];
    this.start = src.ct.startUs + cs.start[k];
    this.dur = cs.duration[k];
    this.depth = 0;
    this.error = cs.status[k] === 2 || (src.errKey >= 0 && hasErrorTag(src, k));
    this.descendants = 0;
    // Filled in on first use; declared here so every span has one shape.
    this._id = undefined;
    this._self = undefined;
    this._tags = undefined;
    this.hay = undefined;
  }

  get service() {
    return this.process.serviceName;
  }

  get end() {
    return this.start + this.dur;
  }

  get id() {
    return (this._id ??= idAt(this.src.ct.spans.ids, this.k));
  }

  get parentId() {
    const cs = this.src.ct.spans;
    const p = cs.parent[this.k];
    if (p >= 0 && p !== this.k) return idAt(cs.ids, p);
    return (cs.parentID && cs.parentID[this.k]) || '';
  }

  get kind() {
    return KINDS[this.src.ct.spans.kind[this.k]] || 'unspecified';
  }

  get status() {
    return STATUS[this.src.ct.spans.status[this.k]] || 'UNSET';
  }

  get statusMessage() {
    const m = this.src.ct.spans.statusMessage;
    return (m && m[this.k]) || '';
  }

  // self is the part of the span's duration not covered by its children.
  get self() {
    if (this._self === undefined) this._self = selfTime(this);
    return this._self;
  }

  get tags() {
    const { ct, attrStart } = this.src;
    return (this._tags ||= pairs(ct.spans.attrs, ct.strings, attrStart[this.k], attrStart[this.k + 1]));
  }

  get logs() {
    const { ct } = this.src;
    const evs = (ct.spans.events && ct.spans.events[this.k]) || [];
    return evs.map((e) => ({ timestamp: ct.startUs + e.time, name: e.name, fields: pairs(e.attributes, ct.strings) }));
  }

  get links() {
    const { ct } = this.src;
    const ls = (ct.spans.links && ct.spans.links[this.k]) || [];
    return ls.map((l) => ({ traceID: l.traceID, spanID: l.spanID, attributes: pairs(l.attributes, ct.strings) }));
  }

  get scope() {
    const { ct } = this.src;
    const sc = ct.scopes[ct.spans.scope[this.k]];
    return sc ? { name: sc.name, version: sc.version, tags: pairs(sc.attributes, ct.strings) } : null;
  }

  get dropped() {
    return (this.src.ct.spans.dropped && this.src.ct.spans.dropped[this.k]) || null;
  }
}

// hasErrorTag reports whether span k carries the OpenTracing tag
// error=true.
function hasErrorTag(src, k) {
  const attrs = src.ct.spans.attrs;
  for (let a = src.attrStart[k]; a + 1 < src.attrStart[k + 1]; a += 2) {
    if (attrs[a] === src.errKey) return attrs[a + 1] === true || attrs[a + 1] === 'true';
  }
  return false;
}

// buildTrace builds the model of one trace from the compact form served by
// /api/waymark/trace/{id}: spans in pre-order (children by start time, then
// name), with parents, children, depths and descendant counts. The tree is
// worked out on typed arrays first and span objects are made once, in
// order, so a 100,000-span trace builds in tens of milliseconds.
export function buildTrace(ct) {
  const cs = ct.spans;
  const n = cs.parent.length;
  for (const f of ['resource', 'scope', 'name', 'kind', 'status', 'attrCount']) cs[f] = smallInts(cs[f], n);
  const strings = ct.strings;
  const resources = ct.resources.map((r) => ({ serviceName: r.name || 'unknown', tags: pairs(r.attributes, strings) }));
  const attrStart = new Int32Array(n + 1);
  for (let k = 0; k < n; k++) attrStart[k + 1] = attrStart[k] + 2 * cs.attrCount[k];
  // parentIdx is the parent in the trace, -1 for none (or for a span that
  // names itself); a span cut out of a cycle gets -1 later.
  const parentIdx = new Int32Array(n);
  const kidCount = new Int32Array(n + 1);
  for (let k = 0; k < n; k++) {
    const p = cs.parent[k];
    parentIdx[k] = p >= 0 && p < n && p !== k ? p : -1;
    if (parentIdx[k] >= 0) kidCount[parentIdx[k] + 1]++;
  }
  // Children as one index list, span p's at kids[kidAt[p]:kidAt[p+1]].
  const kidAt = kidCount;
  for (let k = 0; k < n; k++) kidAt[k + 1] += kidAt[k];
  const kids = new Int32Array(kidAt[n]);
  const fillAt = kidAt.slice(0, n);
  const roots = [];
  for (let k = 0; k < n; k++) {
    if (parentIdx[k] >= 0) kids[fillAt[parentIdx[k]]++] = k;
    else roots.push(k);
  }
  const start = cs.start;
  const name = cs.name;
  const byStart = (a, b) => start[a] - start[b] || cmpStr(strings[name[a]], strings[name[b]]);
  for (let k = 0; k < n; k++) {
    if (kidAt[k + 1] - kidAt[k] > 1) kids.subarray(kidAt[k], kidAt[k + 1]).sort(byStart);
  }
  roots.sort(byStart);
  // Pre-order walk; a cycle leaves spans unreachable from any root: the
  // first of them (by position) is cut from its parent and becomes a root.
  const order = new Int32Array(n);
  const depth = new Int32Array(n);
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);
  let sp = 0;
  let pos = 0;
  let maxDepth = 0;
  let scan = 0;
  for (let r = roots.length - 1; r >= 0; r--) stack[sp++] = roots[r];
  for (;;) {
    while (sp) {
      const k = stack[--sp];
      if (seen[k]) continue;
      seen[k] = 1;
      depth[k] = parentIdx[k] >= 0 ? depth[parentIdx[k]] + 1 : 0;
      if (depth[k] >= maxDepth) maxDepth = depth[k] + 1;
      order[pos++] = k;
      for (let c = kidAt[k + 1] - 1; c >= kidAt[k]; c--) {
        if (!seen[kids[c]]) stack[sp++] = kids[c];
      }
    }
    if (pos === n) break;
    while (seen[scan]) scan++;
    parentIdx[scan] = -1;
    roots.push(scan);
    stack[sp++] = scan;
  }
  // Descendant counts, children before parents.
  const desc = new Int32Array(n);
  for (let o = n - 1; o >= 0; o--) {
    const k = order[o];
    if (parentIdx[k] >= 0) desc[parentIdx[k]] += 1 + desc[k];
  }
  const src = { ct, attrStart, errKey: strings.indexOf('error') };
  const byK = new Array(n);
  const flat = new Array(n);
  let first = Infinity;
  let last = -Infinity;
  let errors = 0;
  const services = new Map();
  for (let o = 0; o < n; o++) {
    const k = order[o];
    const s = new Span(src, k, resources[cs.resource[k]]);
    s.i = o;
    s.depth = depth[k];
    s.descendants = desc[k];
    if (parentIdx[k] >= 0) s.parent = byK[parentIdx[k]];
    byK[k] = s;
    flat[o] = s;
    if (s.start < first) first = s.start;
    if (s.end > last) last = s.end;
    let sv = services.get(s.service);
    if (!sv) services.set(s.service, (sv = { name: s.service, count: 0, errors: 0 }));
    sv.count++;
    if (s.error) {
      errors++;
      sv.errors++;
    }
  }
  // Children lists, in start order; a child cut out of a cycle is not one.
  for (let k = 0; k < n; k++) {
    const a = kidAt[k];
    const b = kidAt[k + 1];
    if (a === b) continue;
    const list = [];
    for (let c = a; c < b; c++) if (parentIdx[kids[c]] === k) list.push(byK[kids[c]]);
    if (list.length) byK[k].children = list;
  }
  if (!n) {
    first = 0;
    last = 0;
  }
  const rootSpans = roots.map((k) => byK[k]);
  let byId = null;
  return {
    id: ct.traceID,
    spans: flat,
    // byId maps span IDs to spans (the first of duplicates); built on use.
    get byId() {
      if (!byId) {
        byId = new Map();
        for (const s of byK) if (!byId.has(s.id)) byId.set(s.id, s);
      }
      return byId;
    },
    roots: rootSpans,
    root: rootSpans[0] || null,
    start: first,
    end: last,
    duration: last - first,
    depth: maxDepth,
    errors,
    services,
    // critical is filled in by criticalPath, after the first render.
    critical: null,
  };
}

function cmpStr(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

// selfTime is the part of a span's duration not covered by its children.
function selfTime(sp) {
  if (!sp.children.length) return sp.dur;
  const iv = sp.children
    .map((c) => [Math.max(c.start, sp.start), Math.min(c.end, sp.end)])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let covered = 0;
  let curA = -Infinity;
  let curB = -Infinity;
  for (const [a, b] of iv) {
    if (a > curB) {
      if (curB > curA) covered += curB - curA;
      curA = a;
      curB = b;
    } else if (b > curB) {
      curB = b;
    }
  }
  if (curB > curA) covered += curB - curA;
  return Math.max(0, sp.dur - covered);
}

// Segments holds the critical path: for span index i, get(i) returns its
// segments [[from, to], …] or undefined. They are kept in flat arrays and
// turned into pairs only when asked for, as a view shows a few rows of a
// path that may run through every span.
class Segments {
  // A walk adds at most two segments per span: one when a child takes over
  // and one when the span is left.
  constructor(n) {
    this.head = new Int32Array(n).fill(-1);
    this.from = new Float64Array(2 * n);
    this.to = new Float64Array(2 * n);
    this.next = new Int32Array(2 * n);
    this.n = 0;
  }

  add(i, a, b) {
    if (b <= a) return;
    const s = this.n++;
    this.next[s] = this.head[i];
    this.head[i] = s;
    this.from[s] = a;
    this.to[s] = b;
  }

  get(i) {
    let s = i >= 0 && i < this.head.length ? this.head[i] : -1;
    if (s < 0) return undefined;
    const out = [];
    for (; s >= 0; s = this.next[s]) out.push([this.from[s], this.to[s]]);
    return out;
  }

  // values returns the segments of every span on the path.
  values() {
    const out = [];
    for (let i = 0; i < this.head.length; i++) if (this.head[i] >= 0) out.push(this.get(i));
    return out;
  }
}

// criticalPath returns the time segments [from, to] during which each span
// (not one of its children) determined the trace's end-to-end latency, as
// Segments by span index. Walking back from the root's end, the child that
// finished last before the cursor is on the path; time no child covers is
// the span's own.
export function criticalPath(trace) {
  const segs = new Segments(trace.spans.length);
  const root = trace.root;
  if (!root) return segs;
  // Frames: span, cursor, children latest-ending first, next child to try.
  const frames = [{ sp: root, t: root.end, kids: byEndDesc(root), j: 0 }];
  while (frames.length) {
    const f = frames[frames.length - 1];
    const { sp, kids } = f;
    let next = null;
    while (f.j < kids.length) {
      const c = kids[f.j++];
      if (c.start < f.t && c.end > sp.start) {
        next = c;
        break;
      }
    }
    if (!next) {
      segs.add(sp.i, sp.start, f.t);
      frames.pop();
      continue;
    }
    const cEnd = Math.min(next.end, f.t);
    segs.add(sp.i, cEnd, f.t);
    f.t = Math.max(sp.start, next.start);
    frames.push({ sp: next, t: cEnd, kids: byEndDesc(next), j: 0 });
  }
  return segs;
}

function byEndDesc(sp) {
  return sp.children.length < 2 ? sp.children : sp.children.slice().sort((a, b) => b.end - a.end);
}

// statsBy groups a trace's spans by key(span) with count, total, min, max,
// average and self time (µs) and error count.
export function statsBy(trace, key) {
  const groups = new Map();
  for (const sp of trace.spans) {
    const k = key(sp);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { key: k, service: sp.service, op: sp.op, count: 0, total: 0, min: Infinity, max: 0, self: 0, errors: 0 }));
    g.count++;
    g.total += sp.dur;
    g.self += sp.self;
    if (sp.dur < g.min) g.min = sp.dur;
    if (sp.dur > g.max) g.max = sp.dur;
    if (sp.error) g.errors++;
  }
  for (const g of groups.values()) g.avg = g.total / g.count;
  return [...groups.values()];
}

// spanMatches reports whether a span matches a find-in-trace query: every
// whitespace-separated term must appear in the service, operation, span ID
// or a tag key=value (case-insensitive).
export function spanMatcher(text) {
  const terms = (text || '').toLowerCase().split(/\s+/).filter(Boolean);
  if (!terms.length) return null;
  return (sp) => {
    if (!sp.hay) {
      const parts = [sp.service, sp.op, sp.id];
      for (const t of sp.tags) parts.push(`${t.key}=${t.value}`);
      for (const t of sp.process.tags || []) parts.push(`${t.key}=${t.value}`);
      sp.hay = parts.join('\n').toLowerCase();
    }
    return terms.every((t) => sp.hay.includes(t));
  };
}
