// Outage localisation: a service's (or operation's) spans grouped by an
// attribute (datacenter by default), with error rate and latency per value
// ranked by how far each deviates from all the others. Answers "one
// datacenter or all?"; a click on a value opens matching example traces.

import { h, fill, s, fmtCount, fmtDuration, fmtPct, errorBanner, parseLogfmt, toLogfmt } from './util.js';
import { get, tagKeys } from './api.js';
import { href, navigate, params } from './router.js';
import { serviceFields, tagsField, timeFields, timeRange } from './search.js';
import { recordTiming } from './timing.js';

const ATTRIBUTES = ['datacenter', 'region', 'cloud.region', 'cloud.availability_zone', 'k8s.cluster.name', 'k8s.node.name', 'k8s.pod.name',
  'host.name', 'service.version', 'deployment.environment', 'tenant', 'http.status_code', 'http.route', 'peer.service', 'db.system'];

// A score above this is called out as a likely culprit (a z-statistic:
// 3 means about a 1-in-700 chance under "no difference").
const CULPRIT_SCORE = 3;

export function renderBreakdown(root) {
  const started = performance.now();
  const p = params();
  const ctrl = new AbortController();
  const svc = serviceFields(p, { allLabel: 'All services' });
  const time = timeFields(p);
  const tags = tagsField(p, () => []);
  const attrIn = h('input', { name: 'attribute', value: p.attribute || 'datacenter', list: 'attr-list', autocomplete: 'off', spellcheck: 'false', 'aria-label': 'Group by attribute' });
  const formErr = h('span', { class: 'err' });
  const form = h('form', { class: 'form', 'aria-label': 'Breakdown' },
    svc.service, svc.operation,
    h('label', null, 'Group by attribute', attrIn, h('datalist', { id: 'attr-list' }, ATTRIBUTES.map((a) => h('option', { value: a })))),
    tags.el, time.el,
    h('button', { type: 'submit', class: 'primary' }, 'Break down'), formErr);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    formErr.textContent = '';
    try {
      navigate('/breakdown', { ...svc.read(), attribute: attrIn.value.trim() || 'datacenter', ...tags.read(), ...time.read(), run: '1' });
    } catch (err) {
      formErr.textContent = err.message;
    }
  });
  const out = h('div', { class: 'results' });
  fill(root, form, out);
  // Offer the keys actually seen, resource attributes (where datacenter,
  // region and version live) first.
  tagKeys().then((keys) => {
    const list = document.getElementById('attr-list');
    if (!list || !keys.length) return;
    const ranked = [...keys].sort((a, b) => (b.scopes.includes('resource') - a.scopes.includes('resource')) || a.key.localeCompare(b.key));
    fill(list, ...ranked.map((k) => h('option', { value: k.key }, `${k.values.length}${k.truncated ? '+' : ''} values`)));
  });
  if (!p.run && !p.service) {
    out.append(h('p', { class: 'empty' }, 'Pick a service (and operation), the attribute to group by, and a time range, then Break down.'));
    return () => ctrl.abort();
  }
  out.append(h('p', { class: 'pad muted' }, h('span', { class: 'spinner' }), ' Computing…'));
  const [start, end] = timeRange(p);
  let tagMap;
  try {
    tagMap = p.tags ? parseLogfmt(p.tags) : undefined;
  } catch (e) {
    fill(out, errorBanner(e));
    return () => ctrl.abort();
  }
  const attribute = p.attribute || 'datacenter';
  get('/api/waymark/breakdown', { service: p.service, operation: p.operation, attribute, tags: tagMap, start: Math.floor(start), end: Math.ceil(end) }, { signal: ctrl.signal })
    .then((b) => {
      fill(out, ...result(b, p));
      requestAnimationFrame(() => recordTiming('breakdown', performance.now() - started, { groups: b.groups.length }));
    })
    .catch((e) => { if (e.name !== 'AbortError') fill(out, errorBanner(e)); });
  return () => ctrl.abort();
}

function label(g) {
  return g.missing ? '(not set)' : g.value;
}

function verdict(b) {
  const gs = b.groups;
  if (!b.total.count) return h('div', { class: 'verdict' }, 'No spans match in this time range.');
  const top = gs[0];
  const culprits = gs.filter((g) => g.score >= CULPRIT_SCORE);
  if (gs.length === 1) {
    return h('div', { class: 'verdict' }, `Every span has ${b.attribute} = ${label(top)}: nothing to compare. Error rate ${fmtPct(top.errorRate)}, p99 ${fmtDuration(top.p99Us)}.`);
  }
  if (!culprits.length) {
    return h('div', { class: 'verdict calm', 'data-testid': 'verdict' }, `No ${b.attribute} stands out: error rates and latency are alike across ${gs.length} values (overall error rate ${fmtPct(b.total.errorRate)}, p99 ${fmtDuration(b.total.p99Us)}). The problem, if any, is not specific to one ${b.attribute}.`);
  }
  const rest = b.total.count - top.count;
  const restErr = rest ? (b.total.errorCount - top.errorCount) / rest : 0;
  const parts = [];
  if (top.errorZ >= CULPRIT_SCORE) parts.push(`error rate ${fmtPct(top.errorRate)} against ${fmtPct(restErr)} elsewhere`);
  if (top.latencyZ >= CULPRIT_SCORE) parts.push(`${top.latencyRatio.toFixed(1)}× slower (p99 ${fmtDuration(top.p99Us)})`);
  return h('div', { class: 'verdict alarm', 'data-testid': 'verdict' },
    h('b', null, `${b.attribute} = ${label(top)}`), ` stands out: ${parts.join(', ') || 'deviates from the rest'}.`,
    culprits.length > 1 ? ` ${culprits.length - 1} other value${culprits.length > 2 ? 's' : ''} also deviate${culprits.length > 2 ? '' : 's'}.` : ' The other values look alike.');
}

function exemplarLink(b, g, p) {
  if (g.missing) return null;
  let tags = {};
  try {
    tags = p.tags ? parseLogfmt(p.tags) : {};
  } catch { /* form validated it */ }
  tags[b.attribute] = g.value;
  return href('/search', { service: p.service, operation: p.operation, tags: toLogfmt(tags), lookback: p.lookback, start: p.start, end: p.end });
}

function chart(b, p) {
  const gs = b.groups.slice(0, 20);
  const rowH = 22;
  const W = 900;
  const LW = 150;
  const GAP = 80; // room for a bar's value label
  const colW = (W - LW - 2 * GAP) / 2;
  const H = gs.length * rowH + 26;
  const maxErr = Math.max(0.0001, ...gs.map((g) => g.errorRate));
  const maxLat = Math.max(1, ...gs.map((g) => g.p99Us));
  const svg = s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `Error rate and p99 latency by ${b.attribute}` },
    s('text', { x: LW, y: 12, 'font-size': 11, fill: '#56606b' }, 'Error rate'),
    s('text', { x: LW + colW + GAP, y: 12, 'font-size': 11, fill: '#56606b' }, 'p99 latency (p50 tick)'));
  gs.forEach((g, i) => {
    const y = 20 + i * rowH;
    const culprit = g.score >= CULPRIT_SCORE;
    const row = s('g', { style: 'cursor:pointer' },
      s('text', { x: LW - 8, y: y + 14, 'text-anchor': 'end', 'font-size': 12, 'font-weight': culprit ? 700 : 400, fill: culprit ? '#c4221f' : '#14181d' }, label(g)),
      s('rect', { x: LW, y: y + 3, width: Math.max(1, (g.errorRate / maxErr) * colW), height: 14, fill: culprit && g.errorZ >= CULPRIT_SCORE ? '#c4221f' : '#e0a09d' }),
      s('text', { x: LW + Math.max(1, (g.errorRate / maxErr) * colW) + 4, y: y + 14, 'font-size': 11 }, fmtPct(g.errorRate)),
      s('rect', { x: LW + colW + GAP, y: y + 3, width: Math.max(1, (g.p99Us / maxLat) * colW), height: 14, fill: culprit && g.latencyZ >= CULPRIT_SCORE ? '#1f5fa8' : '#9dbbe0' }),
      s('rect', { x: LW + colW + GAP + (g.p50Us / maxLat) * colW - 1, y: y + 1, width: 2, height: 18, fill: '#14181d' }),
      s('text', { x: LW + colW + GAP + Math.max(1, (g.p99Us / maxLat) * colW) + 4, y: y + 14, 'font-size': 11 }, fmtDuration(g.p99Us)),
      s('title', null, `${b.attribute} = ${label(g)}: ${fmtCount(g.count)} spans, ${fmtPct(g.errorRate)} errors, p50 ${fmtDuration(g.p50Us)}, p99 ${fmtDuration(g.p99Us)}. Click for example traces.`));
    const link = exemplarLink(b, g, p);
    if (link) row.addEventListener('click', () => navigate(link.split('?')[0], Object.fromEntries(new URLSearchParams(link.split('?')[1] || ''))));
    svg.append(row);
  });
  return h('div', { class: 'chart', 'data-testid': 'breakdown-chart' }, svg);
}

function result(b, p) {
  const table = h('table', { class: 'grid', 'data-testid': 'breakdown-table' },
    h('thead', null, h('tr', null, ...['Rank', b.attribute, 'Spans', 'Errors', 'Error rate', 'P50', 'P90', 'P99', 'Latency vs rest', 'Error z', 'Latency z', 'Score', ''].map((t, i) => h('th', { class: i >= 2 && i < 12 ? 'num' : '' }, t)))),
    h('tbody', null, b.groups.map((g, i) => {
      const link = exemplarLink(b, g, p);
      return h('tr', { class: g.score >= CULPRIT_SCORE ? 'culprit' : '', 'data-value': label(g) },
        h('td', null, i + 1),
        h('td', null, h('b', null, label(g))),
        h('td', { class: 'num' }, fmtCount(g.count)),
        h('td', { class: `num${g.errorCount ? ' err' : ''}` }, fmtCount(g.errorCount)),
        h('td', { class: 'num' }, fmtPct(g.errorRate)),
        h('td', { class: 'num' }, fmtDuration(g.p50Us)),
        h('td', { class: 'num' }, fmtDuration(g.p90Us)),
        h('td', { class: 'num' }, fmtDuration(g.p99Us)),
        h('td', { class: 'num' }, `${g.latencyRatio.toFixed(2)}×`),
        h('td', { class: 'num' }, g.errorZ.toFixed(1)),
        h('td', { class: 'num' }, g.latencyZ.toFixed(1)),
        h('td', { class: 'num' }, h('b', null, g.score.toFixed(1))),
        h('td', null, link ? h('a', { href: link }, 'example traces') : null));
    })));
  return [
    verdict(b),
    b.truncated ? h('div', { class: 'banner' }, `Only the newest ${fmtCount(b.traces)} traces of the range were scanned.`) : null,
    h('div', { class: 'results-head' }, h('span', null, `${fmtCount(b.total.count)} spans in ${fmtCount(b.traces)} traces, ${fmtCount(b.groups.length + b.otherGroups)} values of `, h('code', null, b.attribute)),
      h('span', { class: 'muted' }, `overall: ${fmtPct(b.total.errorRate)} errors, p50 ${fmtDuration(b.total.p50Us)}, p99 ${fmtDuration(b.total.p99Us)}`)),
    b.groups.length ? chart(b, p) : null,
    h('div', { style: { overflow: 'auto' } }, table),
    b.otherGroups ? h('p', { class: 'pad muted' }, `${fmtCount(b.otherGroups)} less deviant values not shown.`) : null,
    h('p', { class: 'pad hint' }, 'Score combines how much worse than all other values a value is: the error-rate z-statistic (two-proportion test) and the latency z-statistic (difference of mean log latency). Above 3 is unlikely to be chance.'),
  ];
}
