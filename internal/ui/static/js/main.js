// Entry point: routes the location to a view, and wires the top bar (trace
// ID / request ID lookup, tenant selector, keyboard help).

import { h, fill, toast } from './util.js';
import { get, clearCache } from './api.js';
import { navigate, onChange, start, tenant, update } from './router.js';
import { renderSearch } from './search.js';
import { renderTrace } from './trace.js';
import { renderCompare } from './compare.js';
import { renderServices } from './services.js';
import { renderBreakdown } from './breakdown.js';

const config = (() => {
  try {
    return JSON.parse(document.getElementById('waymark-config').textContent);
  } catch {
    return {};
  }
})();

const view = document.getElementById('view');
let dispose = null;

function route() {
  if (dispose) dispose();
  dispose = null;
  const path = location.pathname.replace(/\/+$/, '') || '/';
  let name = 'search';
  let m;
  if ((m = /^\/trace\/([^/]+)$/.exec(path))) {
    name = 'trace';
    dispose = renderTrace(view, decodeURIComponent(m[1]));
  } else if (path === '/compare') {
    name = 'compare';
    dispose = renderCompare(view);
  } else if (path === '/services') {
    name = 'services';
    dispose = renderServices(view);
  } else if (path === '/breakdown') {
    name = 'breakdown';
    dispose = renderBreakdown(view);
  } else {
    if (path === '/' && !location.search) {
      // Reopen the last search, as people expect.
      try {
        const last = JSON.parse(localStorage.getItem('waymark.lastSearch') || 'null');
        if (last) {
          navigate('/search', last, { replace: true });
          return;
        }
      } catch { /* no usable last search */ }
    }
    dispose = renderSearch(view);
  }
  document.body.dataset.view = name;
  for (const a of document.querySelectorAll('.mainnav a')) a.classList.toggle('active', a.dataset.view === name);
  document.title = `Waymark — ${name[0].toUpperCase()}${name.slice(1)}`;
}

// Tenant selector: the tenant lives in the URL; recent ones are offered.
function setupTenant() {
  const input = document.getElementById('tenant-input');
  const list = document.getElementById('tenant-list');
  if (!tenant() && config.defaultTenant) update({ tenant: config.defaultTenant });
  const recent = () => {
    try {
      return JSON.parse(localStorage.getItem('waymark.tenants') || '[]');
    } catch {
      return [];
    }
  };
  const refresh = () => {
    const names = [...new Set([...(config.tenants || []), ...recent()])];
    fill(list, ...names.map((n) => h('option', { value: n })));
    input.value = tenant();
  };
  refresh();
  input.addEventListener('change', () => {
    const t = input.value.trim();
    if (t) localStorage.setItem('waymark.tenants', JSON.stringify([t, ...recent().filter((x) => x !== t)].slice(0, 10)));
    update({ tenant: t }, { replace: false });
    clearCache();
    refresh();
    route();
  });
  onChange(() => { input.value = tenant(); });
}

// Lookup box: a hex string opens the trace; otherwise (or when no trace has
// that ID) it is looked up as a request ID.
function setupLookup() {
  const form = document.getElementById('lookup');
  const input = document.getElementById('lookup-input');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const raw = input.value.trim();
    if (!raw) return;
    const ids = raw.split(',').map((x) => x.trim()).filter(Boolean);
    if (ids.length === 2 && ids.every((x) => /^[0-9a-f]{1,32}$/i.test(x))) {
      navigate('/compare', { a: ids[0], b: ids[1] });
      return;
    }
    if (/^[0-9a-f]{1,32}$/i.test(raw)) {
      // The trace view falls back to a request lookup when no trace has it.
      navigate(`/trace/${raw.toLowerCase()}`);
      return;
    }
    try {
      const found = await get(`/api/waymark/request/${encodeURIComponent(raw)}`);
      if (found.length === 1) navigate(`/trace/${found[0]}`);
      else if (found.length > 1) navigate('/search', { requestId: raw });
      else toast(`No trace has ID or request ID "${raw}"`);
    } catch (err) {
      toast(err.message);
    }
  });
}

const HELP = [
  ['/', 'Find in trace'], ['j / ↓', 'Next span'], ['k / ↑', 'Previous span'], ['← / →', 'Collapse / expand span'],
  ['Enter', 'Toggle span'], ['n / N', 'Next / previous match'], ['Esc', 'Close details'], ['g s', 'Go to search'],
  ['g d', 'Go to services'], ['g b', 'Go to breakdown'], ['?', 'This help'],
];

function toggleHelp() {
  const existing = document.querySelector('.overlay');
  if (existing) {
    existing.remove();
    return;
  }
  const close = () => overlay.remove();
  const overlay = h('div', { class: 'overlay', onclick: (e) => { if (e.target === overlay) close(); } },
    h('div', { class: 'box', role: 'dialog', 'aria-label': 'Keyboard shortcuts' },
      h('h2', { style: { marginTop: 0, fontSize: '16px' } }, 'Keyboard shortcuts'),
      h('table', { class: 'kv' }, h('tbody', null, HELP.map(([k, d]) => h('tr', null, h('td', null, h('kbd', null, k)), h('td', { style: { fontFamily: 'inherit' } }, d))))),
      h('p', { class: 'muted' }, `Waymark ${config.version || ''}`),
      h('button', { type: 'button', onclick: close }, 'Close')));
  document.body.append(overlay);
  overlay.querySelector('button').focus();
}

function setupKeys() {
  document.getElementById('help-button').addEventListener('click', toggleHelp);
  let g = false;
  document.addEventListener('keydown', (e) => {
    if (e.target.closest('input, textarea, select') || e.metaKey || e.ctrlKey || e.altKey) return;
    if (e.key === '?') {
      toggleHelp();
      return;
    }
    if (e.key === 'Escape' && document.querySelector('.overlay')) {
      toggleHelp();
      return;
    }
    if (g) {
      g = false;
      const dest = { s: '/search', d: '/services', b: '/breakdown', c: '/compare' }[e.key];
      if (dest) navigate(dest);
      return;
    }
    if (e.key === 'g') g = true;
  });
}

start();
setupTenant();
setupLookup();
setupKeys();
onChange(route);
route();
