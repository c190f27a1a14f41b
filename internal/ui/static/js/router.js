// URL state: every view reads its state from the location and writes it
// back with navigate(), so a pasted link reproduces the view exactly.

const listeners = [];

// params returns the current query parameters as a plain object (the last
// value wins for repeated keys).
export function params() {
  return Object.fromEntries(new URLSearchParams(location.search));
}

// tenant returns the tenant named in the URL ("" for the server default).
export function tenant() {
  return new URLSearchParams(location.search).get('tenant') || '';
}

// href builds an in-app link, carrying the current tenant along.
export function href(path, query = {}) {
  const q = new URLSearchParams();
  const t = tenant();
  if (t && !('tenant' in query)) q.set('tenant', t);
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    q.set(k, String(v));
  }
  const qs = q.toString();
  return qs ? `${path}?${qs}` : path;
}

// navigate moves to path with query, adding a history entry unless replace.
export function navigate(path, query = {}, { replace = false } = {}) {
  const url = href(path, query);
  if (url === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  notify();
}

// update merges changes into the current query without reloading the view:
// for state (selection, zoom, tab) that the view already shows.
export function update(changes, { replace = true } = {}) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === null || v === '' || v === false) q.delete(k);
    else q.set(k, String(v));
  }
  const qs = q.toString();
  const url = location.pathname + (qs ? `?${qs}` : '');
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
}

export function onChange(fn) {
  listeners.push(fn);
}

function notify() {
  for (const fn of listeners) fn();
}

// start wires history navigation and in-app link clicks.
export function start() {
  addEventListener('popstate', notify);
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest('a[href]');
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
    e.preventDefault();
    const t = tenant();
    if (t && !url.searchParams.has('tenant')) url.searchParams.set('tenant', t);
    if (url.pathname + url.search === location.pathname + location.search) return;
    history.pushState(null, '', url.pathname + url.search);
    notify();
  });
}
