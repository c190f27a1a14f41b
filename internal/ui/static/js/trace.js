// Trace page: header, timeline / flame graph / statistics / JSON views,
// find-in-trace and the span detail panel. State (view, selected span, find
// text, collapsed spans, zoom, critical path) lives in the URL.

import { h, fill, fmtDuration, fmtTime, fmtCount, serviceColour, copyButton, download, errorBanner, toast } from './util.js';
import { fetchTrace, fetchJaegerTrace } from './api.js';
import { href, navigate, params, update } from './router.js';
import { get } from './api.js';
import { buildTrace, criticalPath, spanMatcher, statsBy } from './tracemodel.js';
import { Timeline } from './timeline.js';
import { FlameGraph } from './flame.js';
import { recordTiming } from './timing.js';
import { learnKeys } from './search.js';

const VIEWS = [['timeline', 'Timeline'], ['flame', 'Flame graph'], ['stats', 'Statistics'], ['json', 'JSON']];

export function renderTrace(root, id) {
  const started = performance.now();
  const ctrl = new AbortController();
  fill(root, h('p', { class: 'pad muted' }, h('span', { class: 'spinner' }), ` Loading trace ${id}…`));
  let page = null;
  const phases = {};
  fetchTrace(id, { signal: ctrl.signal, timing: phases }).then((ct) => {
    const fetched = performance.now();
    const trace = buildTrace(ct);
    const built = performance.now();
    phases.buildMs = Math.round(built - fetched);
    page = new TracePage(root, trace, started, phases);
    phases.renderMs = Math.round(performance.now() - built);
  }).catch((e) => {
    if (e.name === 'AbortError') return;
    if (e.status === 404 || e.status === 400) notFound(root, id, ctrl.signal);
    else fill(root, errorBanner(e));
  });
  return () => {
    ctrl.abort();
    if (page) page.dispose();
  };
}

// notFound explains a missing trace; the ID may be a request ID instead.
async function notFound(root, id, signal) {
  fill(root, h('p', { class: 'pad muted' }, `No trace has ID ${id}; looking it up as a request ID…`));
  try {
    const ids = await get(`/api/waymark/request/${encodeURIComponent(id)}`, {}, { signal });
    if (ids.length === 1) {
      navigate(`/trace/${ids[0]}`, {}, { replace: true });
      return;
    }
    if (ids.length > 1) {
      navigate('/search', { requestId: id }, { replace: true });
      return;
    }
  } catch (e) {
    if (e.name === 'AbortError') return;
  }
  fill(root, errorBanner(`No trace has ID or request ID ${id}. It may be outside the retention period, or belong to another tenant.`));
}

class TracePage {
  constructor(root, trace, started, phases) {
    this.root = root;
    this.trace = trace;
    const p = params();
    this.view = VIEWS.some(([v]) => v === p.view) ? p.view : 'timeline';
    this.ctx = {
      trace,
      collapsed: new Set((p.collapsed || '').split(',').filter(Boolean)),
      selected: p.span ? trace.byId.get(p.span) || null : null,
      matches: null,
      zoom: parseZoom(p.zoom),
      showCritical: p.cp !== '0',
      onSelect: (sp) => this.select(sp),
      onToggle: (sp) => this.toggle(sp),
      onZoom: (z) => this.setZoom(z),
      onCollapseAll: (c) => this.collapseAll(c),
    };
    this.findText = p.find || '';
    const keys = new Set();
    for (let k = 0; k < Math.min(trace.spans.length, 200); k++) for (const tg of trace.spans[k].tags) keys.add(tg.key);
    learnKeys(keys);
    this.build();
    this.applyFind(false);
    this.showView();
    requestAnimationFrame(() => {
      recordTiming('trace', performance.now() - started, { spans: trace.spans.length, ...phases });
      // The critical path is not needed for the first paint.
      setTimeout(() => {
        trace.critical = criticalPath(trace);
        this.redraw();
      }, 0);
    });
    this.onKey = (e) => this.key(e);
    document.addEventListener('keydown', this.onKey);
  }

  dispose() {
    document.removeEventListener('keydown', this.onKey);
    if (this.widget && this.widget.dispose) this.widget.dispose();
  }

  build() {
    const t = this.trace;
    const root = t.root;
    const title = root ? [h('span', { style: { color: serviceColour(root.service) } }, '■ '), `${root.service}: `, h('span', { class: 'op' }, root.op)] : 'Trace';
    const errs = t.errors ? h('b', { class: 'err' }, fmtCount(t.errors)) : h('b', null, '0');
    this.findInput = h('input', { type: 'search', placeholder: 'Find in trace (/)', 'aria-label': 'Find in trace', value: this.findText, oninput: (e) => { this.findText = e.target.value; this.applyFind(true); }, onkeydown: (e) => { if (e.key === 'Enter') { e.preventDefault(); this.stepMatch(e.shiftKey ? -1 : 1); } } });
    this.findCount = h('span', { class: 'muted nowrap' });
    this.tabs = h('div', { class: 'tabs', role: 'tablist' }, VIEWS.map(([v, label]) => h('button', { type: 'button', role: 'tab', 'data-view': v, 'aria-selected': String(v === this.view), onclick: () => this.switchView(v) }, label)));
    this.cpBtn = h('button', { type: 'button', 'aria-pressed': String(this.ctx.showCritical), title: 'Highlight the critical path', onclick: () => this.toggleCritical() }, 'Critical path');
    this.body = h('div', { class: 'trace-main' });
    this.detail = h('aside', { class: 'detail', hidden: true, 'aria-label': 'Span details' });
    const warn = t.roots.length > 1 ? h('div', { class: 'banner' }, `This trace has ${t.roots.length} root spans: some parents are missing (not received, dropped or still in flight).`) : null;
    const truncated = t.warning ? h('div', { class: 'banner', role: 'status', 'data-testid': 'trace-truncated' }, t.warning) : null;
    const spanCount = t.storedSpans > t.spans.length ? `${fmtCount(t.spans.length)} of ${fmtCount(t.storedSpans)}` : fmtCount(t.spans.length);
    fill(this.root, 
      h('div', { class: 'trace-head' },
        h('h1', null, title),
        h('div', { class: 'facts' },
          h('span', null, 'Start ', h('b', null, fmtTime(t.start))),
          h('span', null, 'Duration ', h('b', null, fmtDuration(t.duration))),
          h('span', null, 'Spans ', h('b', { 'data-testid': 'span-count' }, spanCount)),
          h('span', null, 'Services ', h('b', null, t.services.size)),
          h('span', null, 'Depth ', h('b', null, t.depth)),
          h('span', null, 'Errors ', errs)),
        h('span', { class: 'grow' }),
        h('span', { class: 'mono muted' }, t.id, ' ', copyButton(t.id, 'copy ID')),
        h('a', { href: href('/compare', { a: t.id }) }, 'Compare…'),
        h('button', { type: 'button', onclick: async (e) => {
          e.target.disabled = true;
          try {
            download(`trace-${t.id}.json`, await fetchJaegerTrace(t.id));
          } catch (err) {
            toast(err.message);
          } finally {
            e.target.disabled = false;
          }
        } }, 'Download JSON')),
      truncated,
      warn,
      h('div', { class: 'toolbar' }, this.tabs, h('span', { class: 'grow' }), this.cpBtn,
        h('label', { class: 'find row' }, this.findInput,
          h('button', { type: 'button', title: 'Previous match (Shift+Enter)', onclick: () => this.stepMatch(-1) }, '↑'),
          h('button', { type: 'button', title: 'Next match (Enter)', onclick: () => this.stepMatch(1) }, '↓'),
          this.findCount)),
      h('div', { class: 'trace-body' }, this.body, this.detail));
  }

  showView() {
    if (this.widget && this.widget.dispose) this.widget.dispose();
    this.widget = null;
    for (const b of this.tabs.children) b.setAttribute('aria-selected', String(b.dataset.view === this.view));
    fill(this.body);
    this.cpBtn.hidden = this.view !== 'timeline';
    switch (this.view) {
      case 'flame':
        this.widget = new FlameGraph(this.body, this.ctx);
        break;
      case 'stats':
        this.body.append(statsView(this.trace));
        break;
      case 'json':
        this.body.append(jsonView(this.trace.id));
        break;
      default:
        this.widget = new Timeline(this.body, this.ctx);
        if (this.ctx.selected) this.widget.reveal(this.ctx.selected);
    }
    this.renderDetail();
  }

  switchView(v) {
    this.view = v;
    update({ view: v === 'timeline' ? '' : v });
    this.showView();
  }

  redraw() {
    if (!this.widget) return;
    if (this.widget instanceof Timeline) this.widget.schedule(true);
    else this.widget.draw();
  }

  select(sp) {
    this.ctx.selected = this.ctx.selected === sp ? null : sp;
    update({ span: this.ctx.selected ? this.ctx.selected.id : '' });
    this.redraw();
    this.renderDetail();
  }

  toggle(sp) {
    const c = this.ctx.collapsed;
    if (c.has(sp.id)) c.delete(sp.id);
    else c.add(sp.id);
    this.saveCollapsed();
    if (this.widget instanceof Timeline) this.widget.refresh();
  }

  collapseAll(collapse) {
    const c = this.ctx.collapsed;
    c.clear();
    if (collapse) for (const sp of this.trace.roots) if (sp.children.length) c.add(sp.id);
    this.saveCollapsed();
    if (this.widget instanceof Timeline) this.widget.refresh();
  }

  saveCollapsed() {
    update({ collapsed: [...this.ctx.collapsed].join(',') });
  }

  setZoom(z) {
    this.ctx.zoom = z;
    update({ zoom: z[0] === 0 && z[1] === 1 ? '' : `${z[0].toFixed(4)},${z[1].toFixed(4)}` });
    this.redraw();
  }

  toggleCritical() {
    this.ctx.showCritical = !this.ctx.showCritical;
    this.cpBtn.setAttribute('aria-pressed', String(this.ctx.showCritical));
    update({ cp: this.ctx.showCritical ? '' : '0' });
    this.redraw();
  }

  applyFind(save) {
    const m = spanMatcher(this.findText);
    this.matchList = m ? this.trace.spans.filter(m) : [];
    this.ctx.matches = m ? new Set(this.matchList) : null;
    this.findCount.textContent = m ? `${fmtCount(this.matchList.length)} match${this.matchList.length === 1 ? '' : 'es'}` : '';
    if (save) update({ find: this.findText });
    this.redraw();
  }

  stepMatch(dir) {
    const list = this.matchList;
    if (!list || !list.length) return;
    const cur = this.ctx.selected ? list.indexOf(this.ctx.selected) : -1;
    const next = list[(cur + dir + list.length) % list.length];
    this.reveal(next);
  }

  // reveal expands the ancestors of sp, selects it and scrolls to it.
  reveal(sp) {
    let changed = false;
    for (let p = sp.parent; p; p = p.parent) {
      if (this.ctx.collapsed.delete(p.id)) changed = true;
    }
    if (changed) this.saveCollapsed();
    this.ctx.selected = sp;
    update({ span: sp.id });
    if (this.widget instanceof Timeline) {
      if (changed) this.widget.refresh();
      this.widget.reveal(sp);
    } else {
      this.redraw();
    }
    this.renderDetail();
  }

  key(e) {
    if (e.target.closest('input, textarea, select') || e.metaKey || e.ctrlKey || e.altKey) {
      if (e.key === 'Escape' && e.target === this.findInput) this.findInput.blur();
      return;
    }
    const tl = this.widget instanceof Timeline ? this.widget : null;
    const sel = this.ctx.selected;
    switch (e.key) {
      case '/':
        e.preventDefault();
        this.findInput.focus();
        break;
      case 'j':
      case 'ArrowDown':
        if (!tl) return;
        e.preventDefault();
        this.reveal(tl.neighbour(sel, 1));
        break;
      case 'k':
      case 'ArrowUp':
        if (!tl) return;
        e.preventDefault();
        this.reveal(tl.neighbour(sel, -1));
        break;
      case 'ArrowLeft':
      case 'ArrowRight':
        if (!tl || !sel || !sel.children.length) return;
        e.preventDefault();
        if (this.ctx.collapsed.has(sel.id) === (e.key === 'ArrowRight')) this.toggle(sel);
        break;
      case 'Enter':
        if (!tl || !sel || !sel.children.length) return;
        e.preventDefault();
        this.toggle(sel);
        break;
      case 'Escape':
        if (sel) this.select(sel);
        break;
      case 'n':
        this.stepMatch(1);
        break;
      case 'N':
        this.stepMatch(-1);
        break;
      default:
    }
  }

  renderDetail() {
    const sp = this.ctx.selected;
    this.detail.hidden = !sp || this.view === 'json' || this.view === 'stats';
    if (this.detail.hidden) return;
    fill(this.detail, ...spanDetail(sp, this.trace, () => this.select(sp)));
  }
}

function parseZoom(z) {
  const [a, b] = (z || '').split(',').map(Number);
  if (Number.isFinite(a) && Number.isFinite(b) && a >= 0 && b <= 1 && b > a) return [a, b];
  return [0, 1];
}

function kvTable(list) {
  if (!list || !list.length) return h('p', { class: 'muted' }, 'none');
  return h('table', { class: 'kv' }, h('tbody', null, list.map((t) => h('tr', null, h('td', null, t.key), h('td', null, typeof t.value === 'object' ? JSON.stringify(t.value) : String(t.value))))));
}

function spanDetail(sp, trace, close) {
  const rel = (us) => fmtDuration(us - trace.start);
  const deepLink = `${location.origin}${href(`/trace/${trace.id}`, { span: sp.id })}`;
  const out = [
    h('header', null,
      h('h2', null, h('span', { style: { color: serviceColour(sp.service) } }, '■ '), `${sp.service}: ${sp.op}`),
      h('button', { type: 'button', class: 'icon', title: 'Close (Esc)', 'aria-label': 'Close details', onclick: close }, '×')),
    h('section', null,
      h('table', { class: 'kv' }, h('tbody', null,
        h('tr', null, h('td', null, 'Span ID'), h('td', null, sp.id, copyButton(sp.id))),
        h('tr', null, h('td', null, 'Trace ID'), h('td', null, trace.id, copyButton(trace.id))),
        h('tr', null, h('td', null, 'Parent ID'), h('td', null, sp.parentId || '(root)', sp.parentId ? copyButton(sp.parentId) : null)),
        h('tr', null, h('td', null, 'Start'), h('td', null, `${fmtTime(sp.start)} (+${rel(sp.start)})`)),
        h('tr', null, h('td', null, 'Duration'), h('td', null, `${fmtDuration(sp.dur)} (self ${fmtDuration(sp.self)})`)),
        h('tr', null, h('td', null, 'Kind'), h('td', null, sp.kind || 'unspecified')),
        h('tr', null, h('td', null, 'Status'), h('td', { class: sp.error ? 'err' : '' }, sp.error ? 'ERROR' : sp.status, sp.statusMessage ? ` — ${sp.statusMessage}` : '')),
        h('tr', null, h('td', null, 'Link'), h('td', null, copyButton(deepLink, 'copy link to span')))))),
  ];
  const dropped = sp.dropped;
  if (dropped) {
    out.push(h('section', null, h('div', { class: 'banner' }, `The sender dropped ${[['attributes', dropped.attributes], ['events', dropped.events], ['links', dropped.links]].filter(([, v]) => v).map(([k, v]) => `${v} ${k}`).join(', ')} of this span.`)));
  }
  out.push(h('section', null, h('h3', null, `Attributes (${sp.tags.length})`), kvTable(sp.tags)));
  out.push(h('section', null, h('h3', null, 'Resource'), kvTable([{ key: 'service.name', value: sp.service }, ...sp.process.tags.filter((t) => t.key !== 'service.name')])));
  const sc = sp.scope;
  if (sc && (sc.name || sc.tags.length)) out.push(h('section', null, h('h3', null, 'Instrumentation scope'), kvTable([{ key: 'name', value: sc.name }, { key: 'version', value: sc.version || '' }, ...sc.tags])));
  const logs = sp.logs;
  out.push(h('section', null, h('h3', null, `Events (${logs.length})`),
    logs.length ? logs.map((l) => h('div', { class: 'event' }, h('div', null, h('b', null, l.name || '(unnamed)'), h('span', { class: 'muted' }, ` +${fmtDuration(l.timestamp - sp.start)} into the span`)), l.fields.length ? kvTable(l.fields) : null)) : h('p', { class: 'muted' }, 'none')));
  const links = sp.links;
  out.push(h('section', null, h('h3', null, `Links (${links.length})`),
    links.length ? h('table', { class: 'kv' }, h('tbody', null, links.map((l) => h('tr', null, h('td', null, l.traceID === trace.id ? 'span in this trace' : 'other trace'),
      h('td', null, h('a', { href: href(`/trace/${l.traceID}`, { span: l.spanID }) }, l.traceID === trace.id ? l.spanID : `${l.traceID} / ${l.spanID}`), l.attributes.length ? kvTable(l.attributes) : null))))) : h('p', { class: 'muted' }, 'none')));
  return out;
}

function statsView(trace) {
  const groups = statsBy(trace, (sp) => `${sp.service}\u0000${sp.op}`);
  const cols = [
    ['service', 'Service', (g) => g.service],
    ['op', 'Operation', (g) => g.op],
    ['count', 'Count', (g) => g.count, true],
    ['errors', 'Errors', (g) => g.errors, true],
    ['total', 'Total', (g) => g.total, true, fmtDuration],
    ['avg', 'Avg', (g) => g.avg, true, fmtDuration],
    ['min', 'Min', (g) => g.min, true, fmtDuration],
    ['max', 'Max', (g) => g.max, true, fmtDuration],
    ['self', 'Self time', (g) => g.self, true, fmtDuration],
    ['selfPct', 'Self % of trace', (g) => g.self / (trace.duration || 1), true, (v) => `${(v * 100).toFixed(1)}%`],
  ];
  const p = params();
  let sortKey = cols.some((c) => c[0] === p.sort) ? p.sort : 'self';
  let asc = p.order === 'asc';
  const table = h('table', { class: 'grid', 'data-testid': 'trace-stats' });
  const draw = () => {
    const col = cols.find((c) => c[0] === sortKey);
    const sorted = groups.slice().sort((a, b) => {
      const x = col[2](a);
      const y = col[2](b);
      const d = typeof x === 'string' ? x.localeCompare(y) : x - y;
      return asc ? d : -d;
    });
    fill(table, 
      h('thead', null, h('tr', null, cols.map(([k, label, , num]) => h('th', {
        class: `sortable${num ? ' num' : ''}${k === sortKey ? ` sorted${asc ? ' asc' : ''}` : ''}`,
        tabindex: '0',
        onclick: () => { if (sortKey === k) asc = !asc; else { sortKey = k; asc = false; } update({ sort: sortKey, order: asc ? 'asc' : '' }); draw(); },
        onkeydown: (e) => { if (e.key === 'Enter') e.target.click(); },
      }, label)))),
      h('tbody', null, sorted.map((g) => h('tr', null, cols.map(([k, , get, num, fmt]) => {
        const v = get(g);
        if (k === 'service') return h('td', null, h('span', { style: { color: serviceColour(v) } }, '■ '), v);
        return h('td', { class: `${num ? 'num' : ''}${k === 'errors' && v ? ' err' : ''}` }, fmt ? fmt(v) : num ? fmtCount(v) : v);
      })))));
  };
  draw();
  return h('div', { style: { overflow: 'auto', flex: '1' } }, table);
}

// jsonView shows the trace as the Jaeger API serves it, fetched on demand.
function jsonView(id) {
  const pre = h('pre', { class: 'json-view', 'data-testid': 'trace-json' }, 'Loading…');
  fetchJaegerTrace(id).then((text) => {
    const max = 2_000_000;
    if (text.length > 4 * max) {
      pre.textContent = `This trace's JSON is ${fmtCount(text.length)} bytes: use Download JSON to see it whole.`;
      return;
    }
    let shown = JSON.stringify(JSON.parse(text), null, 2);
    if (shown.length > max) shown = `${shown.slice(0, max)}\n… (${fmtCount(shown.length - max)} more characters: use Download JSON)`;
    pre.textContent = shown;
  }).catch((e) => { pre.textContent = String(e.message || e); });
  return pre;
}
