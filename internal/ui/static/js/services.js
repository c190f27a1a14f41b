// Services page: the service dependency graph (layered layout; edge width by
// calls, colour by error rate) and per-service / per-operation RED figures.

import { h, fill, s, fmtCount, fmtDuration, fmtPct, fmtRate, errorColour, errorBanner } from './util.js';
import { get } from './api.js';
import { href, navigate, params, update } from './router.js';
import { timeFields, timeRange } from './search.js';

export function renderServices(root) {
  const p = params();
  const ctrl = new AbortController();
  const time = timeFields(p);
  const formErr = h('span', { class: 'err' });
  const form = h('form', { class: 'form', 'aria-label': 'Service time range', onsubmit: (e) => {
    e.preventDefault();
    try {
      navigate('/services', { ...time.read(), service: p.service });
    } catch (err) {
      formErr.textContent = err.message;
    }
  } }, time.el, h('button', { type: 'submit', class: 'primary' }, 'Refresh'), formErr);
  const graphEl = h('div', { class: 'depgraph', 'data-testid': 'depgraph' }, h('p', { class: 'pad muted' }, h('span', { class: 'spinner' }), ' Loading dependencies…'));
  const tableEl = h('div', null, h('p', { class: 'pad muted' }, h('span', { class: 'spinner' }), ' Loading service statistics…'));
  fill(root, form, graphEl, tableEl);
  const [start, end] = timeRange(p);
  const deps = get('/api/dependencies', { endTs: Math.round(end / 1000), lookback: Math.round((end - start) / 1000) }, { signal: ctrl.signal });
  const stats = get('/api/waymark/service-stats', { start: Math.floor(start), end: Math.ceil(end) }, { signal: ctrl.signal });
  const state = { selected: p.service || '' };
  const select = (name) => {
    state.selected = state.selected === name ? '' : name;
    update({ service: state.selected });
    redraw();
  };
  let depData = null;
  let statData = null;
  const redraw = () => {
    if (depData) fill(graphEl, graph(depData, statData, state.selected, select));
    if (statData) fill(tableEl, statsTable(statData, state.selected, select, p));
  };
  deps.then((d) => { depData = d || []; redraw(); }).catch((e) => { if (e.name !== 'AbortError') fill(graphEl, errorBanner(e)); });
  stats.then((d) => { statData = d; redraw(); }).catch((e) => { if (e.name !== 'AbortError') fill(tableEl, errorBanner(e)); });
  return () => ctrl.abort();
}

// layers assigns each node a column: the longest path from a source, with
// cycles broken at the edge that closes them (depth-first order).
export function layers(nodes, edges) {
  const out = new Map();
  const adj = new Map(nodes.map((n) => [n, []]));
  const indeg = new Map(nodes.map((n) => [n, 0]));
  for (const e of edges) {
    if (e.parent === e.child) continue;
    adj.get(e.parent).push(e.child);
  }
  // Drop back edges found by DFS so that the rest is acyclic.
  const colour = new Map();
  const keep = new Map(nodes.map((n) => [n, []]));
  for (const n0 of nodes) {
    if (colour.get(n0)) continue;
    const stack = [[n0, 0]];
    colour.set(n0, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [n, i] = top;
      const next = adj.get(n)[i];
      if (next === undefined) {
        colour.set(n, 2);
        stack.pop();
        continue;
      }
      top[1]++;
      const c = colour.get(next) || 0;
      if (c === 1) continue; // back edge
      keep.get(n).push(next);
      if (c === 0) {
        colour.set(next, 1);
        stack.push([next, 0]);
      }
    }
  }
  for (const n of nodes) for (const c of keep.get(n)) indeg.set(c, indeg.get(c) + 1);
  const queue = nodes.filter((n) => indeg.get(n) === 0);
  for (const n of queue) out.set(n, 0);
  while (queue.length) {
    const n = queue.shift();
    for (const c of keep.get(n)) {
      out.set(c, Math.max(out.get(c) || 0, out.get(n) + 1));
      indeg.set(c, indeg.get(c) - 1);
      if (indeg.get(c) === 0) queue.push(c);
    }
  }
  return out;
}

function graph(deps, stats, selected, select) {
  const nodes = [...new Set(deps.flatMap((d) => [d.parent, d.child]))];
  if (stats) for (const sv of stats.services) if (!nodes.includes(sv.service)) nodes.push(sv.service);
  if (!nodes.length) return h('p', { class: 'empty' }, 'No service calls in this time range.');
  nodes.sort();
  const layer = layers(nodes, deps);
  const cols = [];
  for (const n of nodes) (cols[layer.get(n) || 0] ||= []).push(n);
  // One barycentre pass: order each column by its parents' mean position.
  const pos = new Map();
  cols.forEach((col, ci) => {
    if (ci > 0) {
      const bary = (n) => {
        const ps = deps.filter((d) => d.child === n && pos.has(d.parent)).map((d) => pos.get(d.parent));
        return ps.length ? ps.reduce((x, y) => x + y, 0) / ps.length : 1e9;
      };
      col.sort((x, y) => bary(x) - bary(y) || x.localeCompare(y));
    }
    col.forEach((n, i) => pos.set(n, i));
  });
  const NW = 170;
  const NH = 46;
  const GX = 110;
  const GY = 26;
  const maxRows = Math.max(...cols.map((c) => c.length));
  const W = cols.length * (NW + GX) - GX + 40;
  const H = maxRows * (NH + GY) - GY + 40;
  const xy = new Map();
  cols.forEach((col, ci) => {
    const off = ((maxRows - col.length) * (NH + GY)) / 2;
    col.forEach((n, i) => xy.set(n, [20 + ci * (NW + GX), 20 + off + i * (NH + GY)]));
  });
  const entry = new Map((stats ? stats.services : []).map((sv) => [sv.service, sv.entry]));
  const maxCalls = Math.max(1, ...deps.map((d) => d.callCount));
  const svg = s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Service dependency graph' },
    s('defs', null, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' }, s('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#8a96a3' }))));
  for (const d of deps) {
    const [x1, y1] = xy.get(d.parent);
    const [x2, y2] = xy.get(d.child);
    const rate = d.callCount ? (d.errorCount || 0) / d.callCount : 0;
    const width = 1 + 6 * Math.sqrt(d.callCount / maxCalls);
    let path;
    let lx;
    let ly;
    if (d.parent === d.child) {
      path = `M${x1 + NW - 30},${y1} C${x1 + NW},${y1 - 40} ${x1 + NW + 40},${y1} ${x1 + NW},${y1 + 14}`;
      lx = x1 + NW + 10;
      ly = y1 - 14;
    } else if (x2 > x1) {
      const sx = x1 + NW;
      const sy = y1 + NH / 2;
      const tx = x2;
      const ty = y2 + NH / 2;
      path = `M${sx},${sy} C${sx + GX / 2},${sy} ${tx - GX / 2},${ty} ${tx - 2},${ty}`;
      lx = (sx + tx) / 2;
      ly = (sy + ty) / 2 - 8;
    } else {
      // Back or same-column edge: arc below.
      const sx = x1 + NW / 2;
      const sy = y1 + NH;
      const tx = x2 + NW / 2;
      const ty = y2 + NH;
      path = `M${sx},${sy} C${sx},${sy + 50} ${tx},${ty + 50} ${tx},${ty + 2}`;
      lx = (sx + tx) / 2;
      ly = Math.max(sy, ty) + 34;
    }
    const dim = selected && d.parent !== selected && d.child !== selected;
    svg.append(s('path', { class: 'edge', d: path, stroke: errorColour(rate), 'stroke-width': width, 'marker-end': 'url(#arrow)', opacity: dim ? 0.2 : 0.85 },
      s('title', null, `${d.parent} → ${d.child}: ${fmtCount(d.callCount)} calls, ${fmtCount(d.errorCount || 0)} errors (${fmtPct(rate)})`)));
    svg.append(s('text', { class: 'edge-label', x: lx, y: ly, 'text-anchor': 'middle', opacity: dim ? 0.3 : 1 }, `${fmtCount(d.callCount)}${d.errorCount ? ` · ${fmtPct(rate)} err` : ''}`));
  }
  for (const n of nodes) {
    const [x, y] = xy.get(n);
    const e = entry.get(n);
    const rate = e ? e.errorRate : 0;
    const g = s('g', { class: `node${n === selected ? ' sel' : ''}`, transform: `translate(${x},${y})`, tabindex: '0', role: 'button', 'aria-label': `Service ${n}`, 'data-service': n },
      s('rect', { width: NW, height: NH, style: `stroke:${e && e.errors ? errorColour(rate) : ''}` }),
      s('rect', { width: 5, height: NH, fill: errorColour(rate), style: 'stroke:none' }),
      s('text', { x: 12, y: 18, 'font-weight': 600 }, n.length > 22 ? `${n.slice(0, 21)}…` : n),
      s('text', { x: 12, y: 35, class: 'sub' }, e ? `${fmtRate(e.ratePerSecond)} · ${fmtPct(e.errorRate)} err · p99 ${fmtDuration(e.p99Us)}` : 'no entry spans'),
      s('title', null, n));
    g.addEventListener('click', () => select(n));
    g.addEventListener('dblclick', () => navigate('/search', { service: n }));
    g.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') select(n); });
    svg.append(g);
  }
  return svg;
}

function redCells(r) {
  const maxRate = 1;
  return [
    h('td', { class: 'num' }, fmtCount(r.count)),
    h('td', { class: 'num' }, fmtRate(r.ratePerSecond)),
    h('td', { class: `num${r.errorCount ? ' err' : ''}` }, fmtPct(r.errorRate), ' ', h('span', { class: 'bar err', style: { width: `${Math.round((r.errorRate / maxRate) * 60)}px` } })),
    h('td', { class: 'num' }, fmtDuration(r.p50Us)),
    h('td', { class: 'num' }, fmtDuration(r.p90Us)),
    h('td', { class: 'num' }, fmtDuration(r.p99Us)),
  ];
}

function statsTable(stats, selected, select, p) {
  const list = stats.services.filter((sv) => !selected || sv.service === selected);
  const rows = [];
  for (const sv of list) {
    rows.push(h('tr', { class: sv.service === selected ? 'sel' : '', 'data-service': sv.service },
      h('td', null, h('a', { href: '#', onclick: (e) => { e.preventDefault(); select(sv.service); } }, h('b', null, sv.service))),
      h('td', { class: 'muted' }, 'entry spans'), ...redCells(sv.entry),
      h('td', null, h('a', { href: href('/search', { service: sv.service, lookback: p.lookback, start: p.start, end: p.end }) }, 'traces'), ' · ',
        h('a', { href: href('/breakdown', { service: sv.service, lookback: p.lookback, start: p.start, end: p.end }) }, 'breakdown'))));
    if (sv.service === selected || list.length <= 6) {
      for (const op of sv.operations) {
        rows.push(h('tr', { class: 'ops-row' }, h('td'), h('td', null, op.name, ' ', h('span', { class: 'muted' }, op.spanKind)), ...redCells(op),
          h('td', null, h('a', { href: href('/search', { service: sv.service, operation: op.name, lookback: p.lookback, start: p.start, end: p.end }) }, 'traces'), ' · ',
            h('a', { href: href('/breakdown', { service: sv.service, operation: op.name, lookback: p.lookback, start: p.start, end: p.end }) }, 'breakdown'))));
      }
    }
  }
  return h('div', null,
    stats.truncated ? h('div', { class: 'banner' }, `Figures cover the newest ${fmtCount(stats.traces)} traces of the range only.`) : null,
    h('table', { class: 'grid', 'data-testid': 'service-stats' },
      h('thead', null, h('tr', null, h('th', null, 'Service'), h('th', null, 'Operation'), h('th', { class: 'num' }, 'Count'), h('th', { class: 'num' }, 'Rate'), h('th', { class: 'num' }, 'Error rate'), h('th', { class: 'num' }, 'P50'), h('th', { class: 'num' }, 'P90'), h('th', { class: 'num' }, 'P99'), h('th'))),
      h('tbody', null, rows.length ? rows : h('tr', null, h('td', { colspan: 9, class: 'empty' }, 'No spans in this time range.')))));
}
