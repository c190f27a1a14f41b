// Search page: the form (service, operation, attributes, time range,
// durations, limit), the duration-over-time scatter plot and the results
// list. Every field lives in the URL; submitting navigates, and the view
// runs the search its URL describes.

import { h, fill, s, esc, fmtDuration, fmtTime, fmtAgo, fmtCount, serviceColour, parseDurationInput, parseLogfmt, niceTicks, fmtClock, download, errorBanner, debounce } from './util.js';
import { get, services, operations, tagKeys, tagValues } from './api.js';
import { href, navigate, params, update } from './router.js';
import { recordTiming } from './timing.js';

export const LOOKBACKS = [
  ['5m', 5 * 60], ['15m', 15 * 60], ['30m', 30 * 60], ['1h', 3600], ['2h', 7200], ['3h', 3 * 3600], ['6h', 6 * 3600],
  ['12h', 12 * 3600], ['24h', 86400], ['2d', 2 * 86400], ['3d', 3 * 86400], ['5d', 5 * 86400], ['7d', 7 * 86400],
  ['2w', 14 * 86400], ['3w', 21 * 86400], ['4w', 28 * 86400],
];

const SORTS = [['recent', 'Most recent'], ['longest', 'Longest first'], ['shortest', 'Shortest first'], ['most', 'Most spans'], ['fewest', 'Fewest spans']];

// Attribute keys offered before any result has taught the form better ones.
const COMMON_KEYS = ['error', 'http.status_code', 'http.response.status_code', 'http.method', 'http.route', 'datacenter', 'region',
  'cloud.region', 'k8s.namespace.name', 'k8s.node.name', 'k8s.pod.name', 'host.name', 'service.version', 'deployment.environment',
  'x-request-id', 'guid:x-request-id', 'db.system', 'db.statement', 'rpc.method', 'peer.service', 'span.kind'];

// timeRange turns URL parameters into [start, end] in µs.
export function timeRange(p) {
  if (p.lookback === 'custom' && p.start && p.end) return [Number(p.start), Number(p.end)];
  const secs = (LOOKBACKS.find(([k]) => k === p.lookback) || ['1h', 3600])[1];
  const end = Date.now() * 1000;
  return [end - secs * 1e6, end];
}

export function lookbackSelect(value, onchange) {
  const sel = h('select', { name: 'lookback', 'aria-label': 'Lookback', onchange },
    LOOKBACKS.map(([k]) => h('option', { value: k, selected: k === value }, `Last ${k}`)),
    h('option', { value: 'custom', selected: value === 'custom' }, 'Custom range'));
  if (!value) sel.value = '1h';
  return sel;
}

function toLocalInput(us) {
  if (!us) return '';
  const d = new Date(Number(us) / 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

// timeFields returns the lookback select plus custom start/end inputs, and a
// reader of their values as URL parameters.
export function timeFields(p) {
  const startIn = h('input', { type: 'datetime-local', name: 'start', value: toLocalInput(p.start), 'aria-label': 'Start time' });
  const endIn = h('input', { type: 'datetime-local', name: 'end', value: toLocalInput(p.end), 'aria-label': 'End time' });
  const custom = h('span', { class: 'row', hidden: p.lookback !== 'custom' }, startIn, '–', endIn);
  const sel = lookbackSelect(p.lookback || '1h', () => {
    custom.hidden = sel.value !== 'custom';
    if (!custom.hidden && !startIn.value) {
      const now = Date.now() * 1000;
      startIn.value = toLocalInput(now - 3600e6);
      endIn.value = toLocalInput(now);
    }
  });
  const read = () => {
    if (sel.value !== 'custom') return { lookback: sel.value === '1h' ? '' : sel.value };
    const a = Date.parse(startIn.value);
    const b = Date.parse(endIn.value);
    if (!Number.isFinite(a) || !Number.isFinite(b) || b <= a) throw new Error('Custom range: the end must be after the start.');
    return { lookback: 'custom', start: a * 1000, end: b * 1000 };
  };
  return { el: h('label', null, 'Time range', h('span', { class: 'row' }, sel, custom)), read };
}

// serviceFields returns service and operation selects bound together.
export function serviceFields(p, { allLabel = 'All services' } = {}) {
  const svc = h('select', { name: 'service', 'aria-label': 'Service' }, h('option', { value: '' }, allLabel));
  const op = h('select', { name: 'operation', 'aria-label': 'Operation' }, h('option', { value: '' }, 'All operations'));
  const fillOps = async (keep) => {
    fill(op, h('option', { value: '' }, 'All operations'));
    op.disabled = !svc.value;
    if (!svc.value) return;
    try {
      const ops = await operations(svc.value);
      op.append(...ops.map((o) => h('option', { value: o }, o)));
      if (keep && ops.includes(keep)) op.value = keep;
    } catch { /* the select stays at "All operations" */ }
  };
  svc.addEventListener('change', () => fillOps(''));
  const ready = services().then((list) => {
    svc.append(...list.map((x) => h('option', { value: x }, x)));
    if (p.service && !list.includes(p.service)) svc.append(h('option', { value: p.service }, p.service));
    svc.value = p.service || '';
    const allOpt = svc.options[0];
    allOpt.textContent = `${allLabel} (${list.length})`;
    return fillOps(p.operation);
  }).catch(() => {
    if (p.service) {
      svc.append(h('option', { value: p.service }, p.service));
      svc.value = p.service;
    }
  });
  op.disabled = true;
  return {
    service: h('label', null, 'Service', svc),
    operation: h('label', null, 'Operation', op),
    read: () => ({ service: svc.value, operation: svc.value ? op.value : '' }),
    ready,
  };
}

// tagsField returns the logfmt attributes input with key and value
// suggestions.
export function tagsField(p, learnedKeys) {
  const list = h('datalist', { id: `tag-suggest-${Math.random().toString(36).slice(2)}` });
  const input = h('input', { name: 'tags', value: p.tags || '', placeholder: 'error=true http.status_code=500', list: list.id, autocomplete: 'off', spellcheck: 'false', 'aria-label': 'Attributes' });
  const suggest = debounce(async () => {
    const text = input.value;
    const cut = text.lastIndexOf(' ') + 1;
    const prefix = text.slice(0, cut);
    const token = text.slice(cut);
    let opts = [];
    if (!token.includes('=')) {
      const seen = (await tagKeys()).map((k) => k.key);
      const keys = [...new Set([...seen, ...learnedKeys(), ...COMMON_KEYS])];
      opts = keys.filter((k) => k.startsWith(token)).slice(0, 30).map((k) => `${prefix}${k}=`);
    } else {
      const [key, partial] = token.split('=', 2);
      const values = await tagValues(key);
      opts = values.filter((v) => String(v).startsWith(partial)).slice(0, 30).map((v) => `${prefix}${key}=${/\s/.test(v) ? `"${v}"` : v}`);
    }
    fill(list, ...opts.map((o) => h('option', { value: o })));
  }, 120);
  input.addEventListener('input', () => {
    input.classList.remove('invalid');
    suggest();
  });
  input.addEventListener('focus', suggest);
  const read = () => {
    try {
      parseLogfmt(input.value);
    } catch (e) {
      input.classList.add('invalid');
      throw e;
    }
    return { tags: input.value.trim() };
  };
  return { el: h('label', { class: 'tags' }, 'Attributes (logfmt)', input, list), read };
}

// searchParams turns URL state into the query parameters of the API.
export function apiSearchParams(p) {
  const [start, end] = timeRange(p);
  let tags;
  if (p.tags) tags = parseLogfmt(p.tags);
  return {
    service: p.service,
    operation: p.operation,
    tags: tags && Object.keys(tags).length ? tags : undefined,
    start: Math.floor(start),
    end: Math.ceil(end),
    minDuration: p.minDuration,
    maxDuration: p.maxDuration,
    limit: p.limit || 20,
  };
}

const learned = new Set();

// learnKeys adds attribute keys seen in opened traces to the suggestions.
export function learnKeys(keys) {
  for (const k of keys) if (learned.size < 500) learned.add(k);
}

export function renderSearch(root) {
  const started = performance.now();
  const p = params();
  const ctrl = new AbortController();
  const svc = serviceFields(p);
  const time = timeFields(p);
  const tags = tagsField(p, () => learned);
  const minIn = h('input', { class: 'dur', name: 'minDuration', value: p.minDuration || '', placeholder: 'e.g. 100ms', 'aria-label': 'Minimum duration' });
  const maxIn = h('input', { class: 'dur', name: 'maxDuration', value: p.maxDuration || '', placeholder: 'e.g. 1.2s', 'aria-label': 'Maximum duration' });
  const limitIn = h('input', { class: 'limit', name: 'limit', type: 'number', min: '1', max: '1500', value: p.limit || '20', 'aria-label': 'Limit' });
  const formErr = h('span', { class: 'err' });
  const form = h('form', { class: 'form', 'aria-label': 'Search traces' },
    svc.service, svc.operation, tags.el, time.el,
    h('label', null, 'Min duration', minIn), h('label', null, 'Max duration', maxIn), h('label', null, 'Limit', limitIn),
    h('button', { class: 'primary', type: 'submit' }, 'Find traces'), formErr);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    formErr.textContent = '';
    try {
      for (const [el, name] of [[minIn, 'Min duration'], [maxIn, 'Max duration']]) {
        el.classList.remove('invalid');
        if (Number.isNaN(parseDurationInput(el.value))) {
          el.classList.add('invalid');
          throw new Error(`${name}: use a number and a unit, such as 250ms or 1.5s.`);
        }
      }
      const mn = parseDurationInput(minIn.value);
      const mx = parseDurationInput(maxIn.value);
      if (mn !== null && mx !== null && mx < mn) throw new Error('Max duration must not be below min duration.');
      const q = { ...svc.read(), ...tags.read(), ...time.read(), minDuration: minIn.value.trim().replace('µs', 'us'), maxDuration: maxIn.value.trim().replace('µs', 'us'), limit: limitIn.value === '20' ? '' : limitIn.value, sort: p.sort };
      localStorage.setItem('waymark.lastSearch', JSON.stringify(q));
      navigate('/search', q);
    } catch (err) {
      formErr.textContent = err.message;
    }
  });
  const results = h('div', { class: 'results' });
  fill(root, form, results);

  if (p.requestId) {
    requestResults(results, p.requestId, ctrl.signal);
  } else {
    runSearch(results, p, ctrl.signal, started, () => ctrl.abort());
  }
  return () => ctrl.abort();
}

async function requestResults(el, id, signal) {
  fill(el, h('p', { class: 'pad muted' }, h('span', { class: 'spinner' }), ` Looking up request ${id}…`));
  try {
    const ids = await get(`/api/waymark/request/${encodeURIComponent(id)}`, {}, { signal });
    fill(el, 
      h('div', { class: 'results-head' }, h('b', null, `${ids.length} trace${ids.length === 1 ? '' : 's'} carry request ID `), h('code', null, id)),
      ids.length ? h('ul', { class: 'trace-list' }, ids.map((t) => h('li', { class: 'trace-item' }, h('span'), h('a', { class: 'mono', href: href(`/trace/${t}`) }, t)))) : h('p', { class: 'empty' }, 'No trace carries this request ID.'));
  } catch (e) {
    if (e.name !== 'AbortError') fill(el, errorBanner(e));
  }
}

async function runSearch(el, p, signal, started, cancel) {
  fill(el, h('p', { class: 'pad muted' }, h('span', { class: 'spinner' }), ' Searching… ',
    h('button', { type: 'button', onclick: () => {
      cancel();
      fill(el, h('p', { class: 'empty' }, 'Search cancelled.'));
    } }, 'Cancel')));
  let list;
  try {
    list = await get('/api/waymark/trace-summaries', apiSearchParams(p), { signal });
  } catch (e) {
    if (e.name !== 'AbortError') fill(el, errorBanner(e));
    return;
  }
  list = list || [];
  renderResults(el, list, p);
  requestAnimationFrame(() => recordTiming('search', performance.now() - started, { traces: list.length }));
}

function sortTraces(list, how) {
  const l = list.slice();
  const cmp = {
    recent: (a, b) => b.startUs - a.startUs,
    longest: (a, b) => b.durationUs - a.durationUs,
    shortest: (a, b) => a.durationUs - b.durationUs,
    most: (a, b) => b.spanCount - a.spanCount,
    fewest: (a, b) => a.spanCount - b.spanCount,
  }[how] || ((a, b) => b.startUs - a.startUs);
  return l.sort(cmp);
}

function renderResults(el, list, p) {
  const selected = new Set((p.sel || '').split(',').filter(Boolean));
  const cmpBtn = h('button', { type: 'button', onclick: () => { const [a, b] = [...selected]; navigate('/compare', { a, b }); } }, 'Compare selected');
  const syncCmp = () => {
    cmpBtn.disabled = selected.size !== 2;
    cmpBtn.textContent = `Compare selected (${selected.size}/2)`;
  };
  syncCmp();
  const sortSel = h('select', { 'aria-label': 'Sort', onchange: () => { update({ sort: sortSel.value === 'recent' ? '' : sortSel.value }); drawList(); } },
    SORTS.map(([k, label]) => h('option', { value: k, selected: (p.sort || 'recent') === k }, label)));
  const errCount = list.filter((t) => t.errorCount > 0).length;
  const head = h('div', { class: 'results-head' },
    h('b', { 'data-testid': 'result-count' }, `${fmtCount(list.length)} trace${list.length === 1 ? '' : 's'}`),
    errCount ? h('span', { class: 'badge err' }, `${errCount} with errors`) : null,
    h('span', { class: 'grow' }),
    h('label', { class: 'row' }, 'Sort', sortSel), cmpBtn,
    h('button', { type: 'button', onclick: () => download('waymark-search.json', JSON.stringify(list, null, 2)) }, 'Download results'));
  if (!list.length) {
    fill(el, head, h('p', { class: 'empty' }, 'No traces match. Widen the time range or remove filters.'));
    return;
  }
  // The list is built as markup: for long result lists this is several
  // times faster than creating each element through the DOM API.
  const ul = h('ul', { class: 'trace-list', 'data-testid': 'trace-list' });
  ul.addEventListener('change', (e) => {
    const li = e.target.closest('li[data-trace-id]');
    if (!li || e.target.type !== 'checkbox') return;
    if (e.target.checked) selected.add(li.dataset.traceId);
    else selected.delete(li.dataset.traceId);
    update({ sel: [...selected].join(',') });
    syncCmp();
  });
  const maxDur = Math.max(...list.map((t) => t.durationUs), 1);
  const drawList = () => {
    ul.innerHTML = sortTraces(list, sortSel.value).map((t) => itemHTML(t, selected, maxDur)).join('');
  };
  drawList();
  fill(el, head, h('div', { class: 'scatter' }, scatter(list)), ul);
}

function itemHTML(t, selected, maxDur) {
  const id = esc(t.traceID);
  const pills = t.services.slice(0, 8).map((sv) => `<span class="pill" title="${sv.spanCount} spans, ${sv.errorCount} errors"><span class="sw" style="background:${serviceColour(sv.name)}"></span>${esc(sv.name)} ${sv.spanCount}</span>`).join('')
    + (t.services.length > 8 ? `<span class="pill">+${t.services.length - 8}</span>` : '');
  const errs = t.errorCount ? ` <span class="badge err">${t.errorCount} error${t.errorCount === 1 ? '' : 's'}</span>` : '';
  return `<li class="trace-item${t.errorCount ? ' has-err' : ''}" data-trace-id="${id}">`
    + `<input type="checkbox" aria-label="Select ${id} for comparison"${selected.has(t.traceID) ? ' checked' : ''}>`
    + `<div><a class="title" href="${esc(href(`/trace/${t.traceID}`))}"><span style="color:${serviceColour(t.rootService)}">■ </span>${esc(t.rootService)}: <span class="op">${esc(t.rootOperation)}</span>${t.rootMissing ? ' <span class="badge warn" title="No root span was found">missing root</span>' : ''}</a>`
    + `<div class="meta mono">${id.slice(0, 16)}</div></div>`
    + `<div class="num"><b>${esc(fmtDuration(t.durationUs))}</b><div class="durbar"><i style="width:${(t.durationUs / maxDur) * 100}%"></i></div></div>`
    + `<div><div class="meta">${fmtCount(t.spanCount)} spans · ${t.services.length} services · depth ${t.depth}${errs}</div><div class="pills">${pills}</div></div>`
    + `<div class="meta num">${esc(fmtTime(t.startUs))}<br>${esc(fmtAgo(t.startUs))}</div></li>`;
}

// scatter draws duration against start time; a dot's size follows the span
// count, red marks traces with errors; a click opens the trace.
function scatter(list) {
  const W = Math.max(600, (document.getElementById('view').clientWidth || 1000) - 32);
  const H = 170;
  const m = { l: 56, r: 12, t: 10, b: 22 };
  const xs = list.map((t) => t.startUs);
  let x0 = Math.min(...xs);
  let x1 = Math.max(...xs);
  if (x1 === x0) {
    x0 -= 1e6;
    x1 += 1e6;
  }
  const y1 = Math.max(...list.map((t) => t.durationUs)) * 1.08 || 1;
  const X = (v) => m.l + ((v - x0) / (x1 - x0)) * (W - m.l - m.r);
  const Y = (v) => H - m.b - (v / y1) * (H - m.t - m.b);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Trace duration over time', 'data-testid': 'scatter' });
  const axis = s('g', { class: 'axis' });
  for (const v of niceTicks(0, y1, 4)) {
    axis.append(s('line', { x1: m.l, x2: W - m.r, y1: Y(v), y2: Y(v), 'stroke-dasharray': '2 3' }), s('text', { x: m.l - 6, y: Y(v) + 3, 'text-anchor': 'end' }, fmtDuration(v)));
  }
  for (const v of niceTicks(x0, x1, 6)) {
    axis.append(s('text', { x: X(v), y: H - 6, 'text-anchor': 'middle' }, fmtClock(v)));
  }
  svg.append(axis);
  const dots = list.slice().sort((a, b) => b.spanCount - a.spanCount);
  const g = s('g');
  g.innerHTML = dots.map((t) => {
    const colour = t.errorCount ? '#c4221f' : serviceColour(t.rootService);
    const tip = `${t.rootService}: ${t.rootOperation}\n${fmtDuration(t.durationUs)} · ${t.spanCount} spans · ${t.services.length} services${t.errorCount ? ` · ${t.errorCount} errors` : ''}\n${fmtTime(t.startUs)}`;
    return `<circle cx="${X(t.startUs).toFixed(1)}" cy="${Y(t.durationUs).toFixed(1)}" r="${Math.min(3 + Math.sqrt(t.spanCount) / 2, 14).toFixed(1)}" fill="${colour}" stroke="${colour}" tabindex="0" role="link" aria-label="${esc(`${t.rootService}: ${t.rootOperation}, ${fmtDuration(t.durationUs)}`)}" data-trace-id="${esc(t.traceID)}"><title>${esc(tip)}</title></circle>`;
  }).join('');
  const open = (e) => {
    const c = e.target.closest('circle[data-trace-id]');
    if (c) navigate(`/trace/${c.dataset.traceId}`);
  };
  g.addEventListener('click', open);
  g.addEventListener('keydown', (e) => { if (e.key === 'Enter') open(e); });
  svg.append(g);
  return svg;
}
