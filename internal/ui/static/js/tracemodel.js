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
// worked out on typed arrays first, in small functions with one loop each
// (a trace is built once, so they must run fast before the engine has
// optimised them), and span objects are made once, in order.
export function buildTrace(ct) {
  const cs = ct.spans;
  const n = cs.parent.length;
  for (const f of ['resource', 'scope', 'name', 'kind', 'status', 'attrCount']) cs[f] = smallInts(cs[f], n);
  const strings = ct.strings;
  const resources = ct.resources.map((r) => ({ serviceName: r.name || 'unknown', tags: pairs(r.attributes, strings) }));
  const tree = linkTree(cs.parent, n);
  const opOf = (k) => strings[cs.name[k]];
  sortChildren(tree, cs.start, opOf);
  const walk = preOrder(tree, n);
  const desc = descendants(walk.order, tree.parentIdx);
  const src = { ct, attrStart: offsets(cs.attrCount, n), errKey: strings.indexOf('error') };
  const { byK, flat } = makeSpans(src, resources, walk, tree.parentIdx, desc);
  linkChildren(tree, byK);
  let first = Infinity;
  let last = -Infinity;
  let errors = 0;
  const services = new Map();
  for (const s of flat) {
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
  if (!n) {
    first = 0;
    last = 0;
  }
  const rootSpans = tree.roots.map((k) => byK[k]);
  let byId = null;
  return {
    id: ct.traceID,
    spans: flat,
    // warning is set when the server cut the trace to its span limit;
    // storedSpans is then how many spans it holds.
    warning: ct.warning || '',
    storedSpans: ct.storedSpans || 0,
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
    depth: walk.maxDepth,
    errors,
    services,
    // critical is filled in by criticalPath, after the first render.
    critical: null,
  };
}

// offsets returns the start of each span's attributes in the flat list.
function offsets(counts, n) {
  const at = new Int32Array(n + 1);
  for (let k = 0; k < n; k++) at[k + 1] = at[k] + 2 * counts[k];
  return at;
}

// linkTree returns each span's parent index (-1 for none, or for a span
// that names itself), the children of span p as kids[kidAt[p]:kidAt[p+1]],
// and the roots.
function linkTree(parent, n) {
  const parentIdx = new Int32Array(n);
  const kidAt = new Int32Array(n + 1);
  for (let k = 0; k < n; k++) {
    const p = parent[k];
    const q = p >= 0 && p < n && p !== k ? p : -1;
    parentIdx[k] = q;
    if (q >= 0) kidAt[q + 1]++;
  }
  for (let k = 0; k < n; k++) kidAt[k + 1] += kidAt[k];
  const kids = new Int32Array(kidAt[n]);
  const fillAt = kidAt.slice(0, n);
  const roots = [];
  for (let k = 0; k < n; k++) {
    const q = parentIdx[k];
    if (q >= 0) kids[fillAt[q]++] = k;
    else roots.push(k);
  }
  return { parentIdx, kidAt, kids, roots };
}

// sortChildren orders every span's children, and the roots, by start time
// and then name. Children mostly arrive in order and are few, so an
// insertion sort does it in one pass.
function sortChildren(tree, start, opOf) {
  const { kidAt, kids, roots } = tree;
  const before = (a, b) => start[a] < start[b] || (start[a] === start[b] && opOf(a) < opOf(b));
  const n = kidAt.length - 1;
  for (let k = 0; k < n; k++) {
    const a = kidAt[k];
    const b = kidAt[k + 1];
    for (let i = a + 1; i < b; i++) {
      const x = kids[i];
      let j = i - 1;
      if (!before(x, kids[j])) continue;
      while (j >= a && before(x, kids[j])) {
        kids[j + 1] = kids[j];
        j--;
      }
      kids[j + 1] = x;
    }
  }
  roots.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
}

// preOrder walks the tree depth first. A cycle leaves spans unreachable
// from any root: the first of them (by position) is cut from its parent
// and becomes a root.
function preOrder(tree, n) {
  const { parentIdx, kidAt, kids, roots } = tree;
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
      const d = parentIdx[k] >= 0 ? depth[parentIdx[k]] + 1 : 0;
      depth[k] = d;
      if (d >= maxDepth) maxDepth = d + 1;
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
  return { order, depth, maxDepth };
}

// descendants counts each span's descendants, children before parents.
function descendants(order, parentIdx) {
  const desc = new Int32Array(order.length);
  for (let o = order.length - 1; o >= 0; o--) {
    const k = order[o];
    if (parentIdx[k] >= 0) desc[parentIdx[k]] += 1 + desc[k];
  }
  return desc;
}

// makeSpans makes the span objects in pre-order; byK finds them by their
// position in the compact form.
function makeSpans(src, resources, walk, parentIdx, desc) {
  const { order, depth } = walk;
  const n = order.length;
  const res = src.ct.spans.resource;
  const byK = new Array(n);
  const flat = new Array(n);
  for (let o = 0; o < n; o++) {
    const k = order[o];
    const s = new Span(src, k, resources[res[k]]);
    s.i = o;
    s.depth = depth[k];
    s.descendants = desc[k];
    if (parentIdx[k] >= 0) s.parent = byK[parentIdx[k]];
    byK[k] = s;
    flat[o] = s;
  }
  return { byK, flat };
}

// linkChildren gives each span its children in start order; a child cut
// out of a cycle is not one.
function linkChildren(tree, byK) {
  const { parentIdx, kidAt, kids } = tree;
  for (let k = 0; k < byK.length; k++) {
    const a = kidAt[k];
    const b = kidAt[k + 1];
    if (a === b) continue;
    const list = [];
    for (let c = a; c < b; c++) if (parentIdx[kids[c]] === k) list.push(byK[kids[c]]);
    if (list.length) byK[k].children = list;
  }
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
