// Compare page: two traces merged by their service/operation path from the
// root, side by side, with spans present in only one trace, in different
// numbers, or notably slower or faster, highlighted.

import { h, fill, fmtDuration, fmtCount, serviceColour, errorBanner } from './util.js';
import { fetchTrace } from './api.js';
import { href, navigate, params } from './router.js';
import { buildTrace } from './tracemodel.js';

export function renderCompare(root) {
  const p = params();
  const ctrl = new AbortController();
  const aIn = h('input', { name: 'a', value: p.a || '', placeholder: 'Trace ID A', class: 'mono', size: 34, 'aria-label': 'Trace A' });
  const bIn = h('input', { name: 'b', value: p.b || '', placeholder: 'Trace ID B', class: 'mono', size: 34, 'aria-label': 'Trace B' });
  const form = h('form', { class: 'form', 'aria-label': 'Compare traces', onsubmit: (e) => { e.preventDefault(); navigate('/compare', { a: aIn.value.trim(), b: bIn.value.trim() }); } },
    h('label', null, 'Trace A', aIn), h('label', null, 'Trace B', bIn),
    h('button', { type: 'submit', class: 'primary' }, 'Compare'),
    h('button', { type: 'button', onclick: () => navigate('/compare', { a: bIn.value.trim(), b: aIn.value.trim() }) }, 'Swap'));
  const out = h('div', { class: 'results' });
  fill(root, form, out);
  if (!p.a || !p.b) {
    out.append(h('p', { class: 'empty' }, 'Pick two traces: tick two results on the search page, or paste two trace IDs.'));
    return () => ctrl.abort();
  }
  out.append(h('p', { class: 'pad muted' }, h('span', { class: 'spinner' }), ' Loading both traces…'));
  Promise.all([p.a, p.b].map((id) => fetchTrace(id, { signal: ctrl.signal }).then(buildTrace))).then(([a, b]) => {
    fill(out, ...compareView(a, b));
  }).catch((e) => {
    if (e.name !== 'AbortError') fill(out, errorBanner(e));
  });
  return () => ctrl.abort();
}

// pathIndex aggregates a trace's spans by their service/operation path.
function pathIndex(trace) {
  const nodes = new Map();
  const keyOf = new Map();
  for (const sp of trace.spans) {
    const parentKey = sp.parent ? keyOf.get(sp.parent) : '';
    const key = `${parentKey}\u0001${sp.service}\u0002${sp.op}`;
    keyOf.set(sp, key);
    let n = nodes.get(key);
    if (!n) nodes.set(key, (n = { key, parentKey, service: sp.service, op: sp.op, depth: sp.depth, count: 0, total: 0, errors: 0 }));
    n.count++;
    n.total += sp.dur;
    if (sp.error) n.errors++;
  }
  return nodes;
}

// mergePaths returns the union of both traces' paths in tree order: each
// node's children in order of first appearance, A's before B-only ones.
export function mergePaths(a, b) {
  const ia = pathIndex(a);
  const ib = pathIndex(b);
  const children = new Map();
  const info = new Map();
  for (const [idx, side] of [[ia, 'a'], [ib, 'b']]) {
    for (const n of idx.values()) {
      let m = info.get(n.key);
      if (!m) {
        info.set(n.key, (m = { key: n.key, service: n.service, op: n.op, a: null, b: null }));
        if (!children.has(n.parentKey)) children.set(n.parentKey, []);
        children.get(n.parentKey).push(n.key);
      }
      m[side] = n;
    }
  }
  const rows = [];
  const stack = (children.get('') || []).slice().reverse().map((k) => [k, 0]);
  while (stack.length) {
    const [k, depth] = stack.pop();
    const m = info.get(k);
    m.depth = depth;
    rows.push(m);
    for (const c of (children.get(k) || []).slice().reverse()) stack.push([c, depth + 1]);
  }
  return rows;
}

function classify(r) {
  if (!r.b) return 'only-a';
  if (!r.a) return 'only-b';
  if (r.a.count !== r.b.count) return 'count-diff';
  return '';
}

function traceCard(label, t, colour) {
  return h('div', { class: 'row', style: { padding: '6px 16px' } },
    h('span', { class: 'badge', style: { background: colour, color: '#fff' } }, label),
    h('a', { href: href(`/trace/${t.id}`), class: 'mono' }, t.id),
    t.root ? h('b', null, `${t.root.service}: ${t.root.op}`) : null,
    h('span', null, fmtDuration(t.duration)),
    h('span', { class: 'muted' }, `${fmtCount(t.spans.length)} spans · ${t.services.size} services`),
    t.errors ? h('span', { class: 'badge err' }, `${t.errors} errors`) : null);
}

function compareView(a, b) {
  const rows = mergePaths(a, b);
  const maxTotal = Math.max(1, ...rows.map((r) => Math.max(r.a ? r.a.total : 0, r.b ? r.b.total : 0)));
  const onlyA = rows.filter((r) => !r.b).length;
  const onlyB = rows.filter((r) => !r.a).length;
  const counts = rows.filter((r) => r.a && r.b && r.a.count !== r.b.count).length;
  const cell = (n, cls) => (n ? [h('td', { class: 'num cnt' }, fmtCount(n.count)), h('td', { class: 'num' }, fmtDuration(n.total), ' ', h('span', { class: `minibar ${cls}`, style: { width: `${Math.max(1, (n.total / maxTotal) * 80)}px` } })), h('td', { class: `num${n.errors ? ' err' : ''}` }, n.errors || '')] : [h('td', { class: 'num muted' }, '–'), h('td', { class: 'num muted' }, '–'), h('td')]);
  const table = h('table', { class: 'grid', 'data-testid': 'compare-table' },
    h('thead', null, h('tr', null, h('th', null, 'Service: operation (path from the root)'), h('th', { class: 'num' }, 'A spans'), h('th', { class: 'num' }, 'A time'), h('th', { class: 'num' }, 'A errors'), h('th', { class: 'num' }, 'B spans'), h('th', { class: 'num' }, 'B time'), h('th', { class: 'num' }, 'B errors'), h('th', { class: 'num' }, 'Δ time'))),
    h('tbody', null, rows.map((r) => {
      let delta = '';
      let dcls = 'num';
      if (r.a && r.b) {
        const d = r.b.total - r.a.total;
        const rel = d / Math.max(r.a.total, 1);
        delta = `${d >= 0 ? '+' : '−'}${fmtDuration(Math.abs(d))} (${d >= 0 ? '+' : '−'}${Math.abs(rel * 100).toFixed(0)}%)`;
        if (Math.abs(d) > 100 && Math.abs(rel) > 0.2) dcls += d > 0 ? ' slower' : ' faster';
      }
      return h('tr', { class: classify(r) },
        h('td', { class: 'cmp-path', style: { paddingLeft: `${8 + Math.min(r.depth, 30) * 14}px` } }, h('span', { style: { color: serviceColour(r.service) } }, '■ '), h('b', null, r.service), ': ', r.op),
        cell(r.a, 'a'), cell(r.b, 'b'), h('td', { class: dcls }, delta));
    })));
  const d = b.duration - a.duration;
  return [
    traceCard('A', a, '#4e79a7'),
    traceCard('B', b, '#59a14f'),
    h('div', { class: 'verdict' }, `B is ${d >= 0 ? 'slower' : 'faster'} than A by ${fmtDuration(Math.abs(d))}. `,
      `${onlyA} path${onlyA === 1 ? '' : 's'} only in A, ${onlyB} only in B, ${counts} with different span counts.`),
    h('div', { class: 'cmp-legend' }, h('span', { style: { '--c': '#fde8e7' } }, 'only in A'), h('span', { style: { '--c': '#e3f5e8' } }, 'only in B'), h('span', { style: { '--c': '#a35c00' } }, 'span count differs'), h('span', { style: { '--c': '#c4221f' } }, 'B slower by >20%'), h('span', { style: { '--c': '#1b7a3a' } }, 'B faster by >20%')),
    h('div', { style: { overflow: 'auto' } }, table),
  ];
}
