// DOM building, formatting and colour helpers shared by every view.

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'style' && typeof v === 'object') {
      for (const [prop, val] of Object.entries(v)) {
        if (prop.startsWith('--')) el.style.setProperty(prop, val);
        else el.style[prop] = val;
      }
    }
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
}

// h builds an HTML element: h('a', {href: '/x', onclick: f}, 'text', child).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

// esc escapes text for HTML markup built as a string (the fast path for
// long lists).
export function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

// fill replaces el's children; null, undefined and false are skipped and
// arrays flattened, as in h.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// s builds an SVG element.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

// fmtDuration formats microseconds compactly: 850µs, 12.3ms, 1.52s, 2m 3s.
export function fmtDuration(us) {
  if (us === null || us === undefined || Number.isNaN(us)) return '–';
  if (us === 0) return '0';
  const a = Math.abs(us);
  if (a < 1) return `${Math.round(us * 1000)}ns`;
  if (a < 1000) return `${trim(us, a < 10 ? 2 : a < 100 ? 1 : 0)}µs`;
  if (a < 1e6) return `${trim(us / 1e3, a < 1e4 ? 2 : a < 1e5 ? 1 : 0)}ms`;
  if (a < 60e6) return `${trim(us / 1e6, 2)}s`;
  const m = Math.floor(a / 60e6);
  if (m < 60) return `${m}m ${Math.round((a % 60e6) / 1e6)}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

function trim(n, digits) {
  return Number(n.toFixed(digits)).toString();
}

// fmtTime formats a µs epoch as a local date-time with milliseconds.
export function fmtTime(us) {
  const d = new Date(us / 1000);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

// fmtClock formats a µs epoch as HH:MM:SS.
export function fmtClock(us) {
  return fmtTime(us).slice(11, 19);
}

// fmtAgo formats how long ago a µs epoch was.
export function fmtAgo(us) {
  const sec = Math.max(0, (Date.now() - us / 1000) / 1000);
  if (sec < 60) return `${Math.round(sec)}s ago`;
  if (sec < 3600) return `${Math.round(sec / 60)}m ago`;
  if (sec < 86400) return `${Math.round(sec / 3600)}h ago`;
  return `${Math.round(sec / 86400)}d ago`;
}

export function fmtPct(r) {
  if (r === null || r === undefined || Number.isNaN(r)) return '–';
  const p = r * 100;
  return `${p === 0 ? '0' : p < 0.1 ? '<0.1' : p < 10 ? p.toFixed(1) : Math.round(p)}%`;
}

export function fmtRate(perSec) {
  if (!perSec) return '0/s';
  if (perSec >= 100) return `${Math.round(perSec)}/s`;
  if (perSec >= 1) return `${perSec.toFixed(1)}/s`;
  if (perSec * 60 >= 1) return `${(perSec * 60).toFixed(1)}/min`;
  return `${(perSec * 3600).toFixed(1)}/h`;
}

export function fmtCount(n) {
  return Number(n).toLocaleString('en-US');
}

// parseDurationInput reads "1.2s", "100ms", "500us", "2m" into µs; returns
// null when empty and NaN when malformed.
export function parseDurationInput(text) {
  const t = (text || '').trim();
  if (!t) return null;
  const m = /^(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m|h)$/.exec(t);
  if (!m) return NaN;
  const mult = { ns: 1e-3, us: 1, 'µs': 1, ms: 1e3, s: 1e6, m: 60e6, h: 3600e6 }[m[2]];
  return Number(m[1]) * mult;
}

// Service colours: a fixed palette picked by name hash, so a service keeps
// its colour across traces and views; when the hashed colour is already
// taken by another service, the next free one is used, so the services on
// screen stay distinguishable.
const PALETTE = [
  '#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#7f8fa6',
  '#8cd17d', '#499894', '#6b5b95', '#86bcb6', '#a0cbe8', '#ffbe7d', '#bab0ac', '#79706e',
  '#d4a6c8', '#b6992d', '#f1ce63', '#5f9ed1',
];
const colourCache = new Map();
const colourUsed = new Set();
export function serviceColour(name) {
  let c = colourCache.get(name);
  if (c) return c;
  let hash = 2166136261;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 16777619);
  }
  let k = (hash >>> 0) % PALETTE.length;
  for (let probe = 0; probe < PALETTE.length && colourUsed.has(PALETTE[k]); probe++) k = (k + 1) % PALETTE.length;
  c = PALETTE[k];
  colourUsed.add(c);
  colourCache.set(name, c);
  return c;
}

// errorColour maps an error rate (0..1) onto grey → amber → red.
export function errorColour(rate) {
  if (!rate) return '#8a96a3';
  if (rate < 0.01) return '#d9a400';
  if (rate < 0.05) return '#e67e22';
  return '#c4221f';
}

// niceTicks returns about n round tick values covering [lo, hi].
export function niceTicks(lo, hi, n = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((st) => st >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(v);
  return out;
}

export function debounce(fn, ms) {
  let t;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

export function toast(msg) {
  const el = document.getElementById('toast');
  if (!el) return;
  el.textContent = msg;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 1800);
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast('Copied');
  } catch {
    // Clipboard access needs a secure context; fall back to a selection.
    const ta = h('textarea', { style: { position: 'fixed', opacity: '0' } }, text);
    document.body.append(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
    toast('Copied');
  }
}

// copyButton returns a small button that copies text.
export function copyButton(text, label = 'copy') {
  return h('button', { class: 'copy', type: 'button', title: `Copy ${text}`, onclick: (e) => { e.stopPropagation(); copyText(text); } }, label);
}

// download saves text as a file.
export function download(name, text, type = 'application/json') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function errorBanner(err) {
  return h('div', { class: 'banner error', role: 'alert' }, String(err && err.message ? err.message : err));
}

// logfmt parses `k=v k2="v w"` into an object; throws on malformed input.
export function parseLogfmt(text) {
  const out = {};
  const re = /\s*([^\s=]+)=("((?:[^"\\]|\\.)*)"|[^\s"]*)\s*/y;
  const t = (text || '').trim();
  let i = 0;
  while (i < t.length) {
    re.lastIndex = i;
    const m = re.exec(t);
    if (!m) throw new Error(`cannot read "${t.slice(i)}": use key=value, quoting values with spaces`);
    out[m[1]] = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[2];
    i = re.lastIndex;
  }
  return out;
}

// toLogfmt is the inverse of parseLogfmt.
export function toLogfmt(obj) {
  return Object.entries(obj || {})
    .map(([k, v]) => (/[\s"=]/.test(v) || v === '' ? `${k}="${String(v).replace(/(["\\])/g, '\\$1')}"` : `${k}=${v}`))
    .join(' ');
}
