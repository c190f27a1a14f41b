// Trace model: turns the Jaeger API's trace JSON into a span tree with
// depths, a pre-order list, per-service counts, self times and the critical
// path. Everything here is iterative so that very deep traces cannot
// overflow the call stack.

function tagValue(tags, key) {
  if (!tags) return undefined;
  for (const t of tags) if (t.key === key) return t.value;
  return undefined;
}

function isErrorSpan(tags) {
  const e = tagValue(tags, 'error');
  if (e === true || e === 'true') return true;
  const st = tagValue(tags, 'otel.status_code');
  return st === 'ERROR' || st === 'error';
}

// buildTrace builds the model of one trace (an element of the Jaeger API's
// data array).
export function buildTrace(jt) {
  const processes = jt.processes || {};
  const raw = jt.spans || [];
  const n = raw.length;
  const spans = new Array(n);
  const byId = new Map();
  for (let k = 0; k < n; k++) {
    const r = raw[k];
    const proc = processes[r.processID] || { serviceName: r.processID || 'unknown', tags: [] };
    let parentId = '';
    if (r.references) {
      const ref = r.references.find((x) => x.refType === 'CHILD_OF' && x.traceID === r.traceID) || r.references.find((x) => x.refType === 'CHILD_OF');
      if (ref) parentId = ref.spanID;
    }
    if (!parentId && r.parentSpanID) parentId = r.parentSpanID;
    const sp = {
      i: 0,
      id: r.spanID,
      parentId,
      parent: null,
      children: [],
      service: proc.serviceName,
      op: r.operationName,
      start: r.startTime,
      dur: r.duration,
      end: r.startTime + r.duration,
      depth: 0,
      error: isErrorSpan(r.tags),
      kind: tagValue(r.tags, 'span.kind') || '',
      tags: r.tags || [],
      process: proc,
      logs: r.logs || [],
      refs: r.references || [],
      warnings: r.warnings || [],
      self: r.duration,
      descendants: 0,
      raw: r,
    };
    spans[k] = sp;
    if (!byId.has(sp.id)) byId.set(sp.id, sp);
  }
  const roots = [];
  for (const sp of spans) {
    const p = sp.parentId ? byId.get(sp.parentId) : undefined;
    if (p && p !== sp) {
      sp.parent = p;
      p.children.push(sp);
    } else {
      roots.push(sp);
    }
  }
  const byStart = (a, b) => a.start - b.start || (a.op < b.op ? -1 : a.op > b.op ? 1 : 0);
  roots.sort(byStart);
  // Pre-order walk; a span reached twice (a reference cycle) is cut.
  const flat = [];
  const seen = new Set();
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
    sp.self = selfTime(sp);
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
  const trace = {
    id: jt.traceID,
    spans: flat,
    byId,
    roots,
    root: roots[0] || null,
    start,
    end,
    duration: end - start,
    depth,
    errors,
    services,
    warnings: jt.warnings || [],
    critical: null,
  };
  trace.critical = criticalPath(trace);
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
