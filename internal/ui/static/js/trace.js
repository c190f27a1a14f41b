// Trace page: header, timeline / flame graph / statistics / JSON views,
// find-in-trace and the span detail panel. State (view, selected span, find
// text, collapsed spans, zoom, critical path) lives in the URL.

import { h, fmtDuration, fmtTime, fmtCount, serviceColour, copyButton, download, errorBanner } from './util.js';
import { fetchTrace } from './api.js';
import { href, params, update } from './router.js';
import { buildTrace, spanMatcher, statsBy } from './tracemodel.js';
import { Timeline } from './timeline.js';
import { FlameGraph } from './flame.js';
import { recordTiming } from './timing.js';
import { learnKeys } from './search.js';

const VIEWS = [['timeline', 'Timeline'], ['flame', 'Flame graph'], ['stats', 'Statistics'], ['json', 'JSON']];

export function renderTrace(root, id) {
  const started = performance.now();
  const ctrl = new AbortController();
  root.replaceChildren(h('p', { class: 'pad muted' }, h('span', { class: 'spinner' }), ` Loading trace ${id}…`));
  let page = null;
  fetchTrace(id, { signal: ctrl.signal }).then(({ body, text }) => {
    const data = Array.isArray(body.data) ? body.data : [body];
    if (!data.length || !data[0] || !data[0].spans || !data[0].spans.length) throw new Error(`trace ${id} not found`);
    const trace = buildTrace(data[0]);
    page = new TracePage(root, trace, text, started);
  }).catch((e) => {
    if (e.name === 'AbortError') return;
    root.replaceChildren(errorBanner(e.status === 404 ? `Trace ${id} not found.` : e));
  });
  return () => {
    ctrl.abort();
    if (page) page.dispose();
  };
}

class TracePage {
  constructor(root, trace, rawText, started) {
    this.root = root;
    this.trace = trace;
    this.rawText = rawText;
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
    requestAnimationFrame(() => recordTiming('trace', performance.now() - started, { spans: trace.spans.length }));
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
    this.root.replaceChildren(
      h('div', { class: 'trace-head' },
        h('h1', null, title),
        h('div', { class: 'facts' },
          h('span', null, 'Start ', h('b', null, fmtTime(t.start))),
          h('span', null, 'Duration ', h('b', null, fmtDuration(t.duration))),
          h('span', null, 'Spans ', h('b', { 'data-testid': 'span-count' }, fmtCount(t.spans.length))),
          h('span', null, 'Services ', h('b', null, t.services.size)),
          h('span', null, 'Depth ', h('b', null, t.depth)),
          h('span', null, 'Errors ', errs)),
        h('span', { class: 'grow' }),
        h('span', { class: 'mono muted' }, t.id, ' ', copyButton(t.id, 'copy ID')),
        h('a', { href: href('/compare', { a: t.id }) }, 'Compare…'),
        h('button', { type: 'button', onclick: () => download(`trace-${t.id}.json`, this.rawText) }, 'Download JSON')),
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
    this.body.replaceChildren();
    this.cpBtn.hidden = this.view !== 'timeline';
    switch (this.view) {
      case 'flame':
        this.widget = new FlameGraph(this.body, this.ctx);
        break;
      case 'stats':
        this.body.append(statsView(this.trace));
        break;
      case 'json':
        this.body.append(jsonView(this.rawText));
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
    this.detail.replaceChildren(...spanDetail(sp, this.trace, () => this.select(sp)));
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
  const status = sp.tags.find((t) => t.key === 'otel.status_code');
  const statusMsg = sp.tags.find((t) => t.key === 'otel.status_description');
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
        h('tr', null, h('td', null, 'Status'), h('td', { class: sp.error ? 'err' : '' }, sp.error ? 'ERROR' : (status ? status.value : 'unset'), statusMsg ? ` — ${statusMsg.value}` : '')),
        h('tr', null, h('td', null, 'Link'), h('td', null, copyButton(deepLink, 'copy link to span')))))),
  ];
  if (sp.warnings.length) out.push(h('section', null, h('h3', null, 'Warnings'), sp.warnings.map((w) => h('div', { class: 'banner' }, w))));
  out.push(h('section', null, h('h3', null, `Attributes (${sp.tags.length})`), kvTable(sp.tags)));
  out.push(h('section', null, h('h3', null, 'Resource'), kvTable([{ key: 'service.name', value: sp.service }, ...(sp.process.tags || [])])));
  out.push(h('section', null, h('h3', null, `Events (${sp.logs.length})`),
    sp.logs.length ? sp.logs.map((l) => h('div', { class: 'event' }, h('div', { class: 'muted' }, `+${fmtDuration(l.timestamp - sp.start)} into the span`), kvTable(l.fields))) : h('p', { class: 'muted' }, 'none')));
  const refs = sp.refs.filter((r) => !(r.refType === 'CHILD_OF' && r.spanID === sp.parentId && r.traceID === trace.id));
  out.push(h('section', null, h('h3', null, `Links (${refs.length})`),
    refs.length ? h('table', { class: 'kv' }, h('tbody', null, refs.map((r) => h('tr', null, h('td', null, r.refType),
      h('td', null, r.traceID === trace.id ? h('a', { href: href(`/trace/${trace.id}`, { span: r.spanID }) }, r.spanID) : h('a', { href: href(`/trace/${r.traceID}`, { span: r.spanID }) }, `${r.traceID} / ${r.spanID}`)))))) : h('p', { class: 'muted' }, 'none')));
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
    table.replaceChildren(
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

function jsonView(text) {
  const max = 2_000_000;
  let shown;
  try {
    shown = JSON.stringify(JSON.parse(text.length > max * 4 ? '{}' : text), null, 2);
  } catch {
    shown = text;
  }
  if (text.length > max * 4) shown = `This trace's JSON is ${fmtCount(text.length)} bytes: use Download JSON to see it whole.`;
  if (shown.length > max) shown = `${shown.slice(0, max)}\n… (${fmtCount(shown.length - max)} more characters: use Download JSON)`;
  return h('pre', { class: 'json-view', 'data-testid': 'trace-json' }, shown);
}
