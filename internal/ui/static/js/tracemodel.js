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

// Span is one span of the model. Attributes, events and links are decoded
// from the compact arrays only when first read, so a large trace opens
// without building objects nobody looks at.
class Span {
  constructor(ct, k, res, errKey) {
    const cs = ct.spans;
    this.ct = ct;
    this.k = k;
    this.i = 0;
    this.id = cs.id[k];
    this.parentIdx = cs.parent[k];
    this.parent = null;
    this.children = NO_CHILDREN;
    this.process = res;
    this.service = res.serviceName;
    this.op = ct.strings[cs.name[k]];
    this.start = ct.startUs + cs.start[k];
    this.dur = cs.duration[k];
    this.end = this.start + this.dur;
    this.depth = 0;
    this.error = cs.status[k] === 2 || (errKey >= 0 && hasErrorTag(cs, k, errKey));
    this.descendants = 0;
    // Filled in on first use; declared here so every span has one shape.
    this._self = undefined;
    this._tags = undefined;
    this.hay = undefined;
  }

  get parentId() {
    const cs = this.ct.spans;
    return this.parentIdx >= 0 ? cs.id[this.parentIdx] : (cs.parentID && cs.parentID[this.k]) || '';
  }

  get kind() {
    return KINDS[this.ct.spans.kind[this.k]] || 'unspecified';
  }

  get status() {
    return STATUS[this.ct.spans.status[this.k]] || 'UNSET';
  }

  get statusMessage() {
    const m = this.ct.spans.statusMessage;
    return (m && m[this.k]) || '';
  }

  // self is the part of the span's duration not covered by its children.
  get self() {
    if (this._self === undefined) this._self = selfTime(this);
    return this._self;
  }

  get tags() {
    const cs = this.ct.spans;
    return (this._tags ||= pairs(cs.attrs, this.ct.strings, cs.attrStart[this.k], cs.attrStart[this.k + 1]));
  }

  get logs() {
    const evs = (this.ct.spans.events && this.ct.spans.events[this.k]) || [];
    return evs.map((e) => ({ timestamp: this.ct.startUs + e.time, name: e.name, fields: pairs(e.attributes, this.ct.strings) }));
  }

  get links() {
    const ls = (this.ct.spans.links && this.ct.spans.links[this.k]) || [];
    return ls.map((l) => ({ traceID: l.traceID, spanID: l.spanID, attributes: pairs(l.attributes, this.ct.strings) }));
  }

  get scope() {
    const sc = this.ct.scopes[this.ct.spans.scope[this.k]];
    return sc ? { name: sc.name, version: sc.version, tags: pairs(sc.attributes, this.ct.strings) } : null;
  }

  get dropped() {
    return (this.ct.spans.dropped && this.ct.spans.dropped[this.k]) || null;
  }
}

// hasErrorTag reports whether span k carries the OpenTracing tag
// error=true; errKey is the index of "error" in the string table.
function hasErrorTag(cs, k, errKey) {
  for (let a = cs.attrStart[k]; a + 1 < cs.attrStart[k + 1]; a += 2) {
    if (cs.attrs[a] === errKey) return cs.attrs[a + 1] === true || cs.attrs[a + 1] === 'true';
  }
  return false;
}

// buildTrace builds the model of one trace from the compact form served by
// /api/waymark/trace/{id}.
export function buildTrace(ct) {
  const n = ct.spans.id.length;
  const resources = ct.resources.map((r) => ({ serviceName: r.name || 'unknown', tags: pairs(r.attributes, ct.strings) }));
  const spans = new Array(n);
  const errKey = ct.strings.indexOf('error');
  for (let k = 0; k < n; k++) spans[k] = new Span(ct, k, resources[ct.spans.resource[k]], errKey);
  const roots = [];
  for (const sp of spans) {
    const p = sp.parentIdx >= 0 ? spans[sp.parentIdx] : undefined;
    if (p && p !== sp) {
      sp.parent = p;
      if (p.children === NO_CHILDREN) p.children = [];
      p.children.push(sp);
    } else {
      roots.push(sp);
    }
  }
  const byStart = (a, b) => a.start - b.start || (a.op < b.op ? -1 : a.op > b.op ? 1 : 0);
  roots.sort(byStart);
  // Pre-order walk; a span reached twice (a reference cycle) is cut.
  const flat = [];
  const seenK = new Uint8Array(n);
  const seen = { has: (sp) => seenK[sp.k] === 1, add: (sp) => { seenK[sp.k] = 1; } };
  const stack = [];
  for (let r = roots.length - 1; r >= 0; r--) stack.push(roots[r]);
  let depth = 0;
  // A cycle leaves spans unreachable from any root: adopt them as roots.
  const pushRoots = () => {
    for (const sp of spans) {
      if (!seen.has(sp)) {
        sp.parent = null;
        roots.push(sp);
        stack.push(sp);
        return true;
      }
    }
    return false;
  };
  do {
    while (stack.length) {
      const sp = stack.pop();
      if (seen.has(sp)) continue;
      seen.add(sp);
      sp.depth = sp.parent ? sp.parent.depth + 1 : 0;
      depth = Math.max(depth, sp.depth + 1);
      sp.i = flat.length;
      flat.push(sp);
      if (sp.children.length > 1) sp.children.sort(byStart);
      for (let c = sp.children.length - 1; c >= 0; c--) {
        if (!seen.has(sp.children[c])) stack.push(sp.children[c]);
      }
    }
  } while (flat.length < n && pushRoots());
  // Drop child links that the cycle cut left behind, so every span's
  // descendants follow it contiguously in the pre-order list.
  for (const sp of flat) {
    if (sp.children.some((c) => c.parent !== sp)) sp.children = sp.children.filter((c) => c.parent === sp);
  }
  // Descendant counts and self time, children before parents.
  for (let k = flat.length - 1; k >= 0; k--) {
    const sp = flat[k];
    for (const c of sp.children) sp.descendants += 1 + c.descendants;
  }
  let start = Infinity;
  let end = -Infinity;
  let errors = 0;
  const services = new Map();
  for (const sp of flat) {
    if (sp.start < start) start = sp.start;
    if (sp.end > end) end = sp.end;
    if (sp.error) errors++;
    let sv = services.get(sp.service);
    if (!sv) services.set(sp.service, (sv = { name: sp.service, count: 0, errors: 0 }));
    sv.count++;
    if (sp.error) sv.errors++;
  }
  if (!flat.length) {
    start = 0;
    end = 0;
  }
  let byId = null;
  const trace = {
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
        for (const sp of spans) if (!byId.has(sp.id)) byId.set(sp.id, sp);
      }
      return byId;
    },
    roots,
    root: roots[0] || null,
    start,
    end,
    duration: end - start,
    depth,
    errors,
    services,
    // critical is filled in by criticalPath, after the first render.
    critical: null,
  };
  return trace;
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

// criticalPath returns, per span index, the time segments [from, to] during
// which that span (not one of its children) determined the trace's end-to-end
// latency. Walking back from the root's end, the child that finished last
// before the cursor is on the path; time no child covers is the span's own.
export function criticalPath(trace) {
  const segs = new Map();
  const add = (sp, a, b) => {
    if (b <= a) return;
    let l = segs.get(sp.i);
    if (!l) segs.set(sp.i, (l = []));
    l.push([a, b]);
  };
  const root = trace.root;
  if (!root) return segs;
  // Frames: span, cursor, remaining children (sorted by end, latest first).
  const stack = [{ sp: root, t: root.end, kids: byEndDesc(root) }];
  while (stack.length) {
    const f = stack[stack.length - 1];
    const { sp } = f;
    let next = null;
    while (f.kids.length) {
      const c = f.kids.shift();
      if (c.start < f.t && c.end > sp.start) {
        next = c;
        break;
      }
    }
    if (!next) {
      add(sp, sp.start, f.t);
      stack.pop();
      continue;
    }
    const cEnd = Math.min(next.end, f.t);
    add(sp, cEnd, f.t);
    f.t = Math.max(sp.start, next.start);
    stack.push({ sp: next, t: cEnd, kids: byEndDesc(next) });
  }
  return segs;
}

function byEndDesc(sp) {
  return sp.children.slice().sort((a, b) => b.end - a.end);
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
