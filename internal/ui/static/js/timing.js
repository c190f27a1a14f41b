// Render timings: each view records how long it took from navigation to its
// first painted frame, for people (the footer of the view) and for tests
// (window.waymarkTimings and data-*-ms attributes on <html>).

export function recordTiming(name, ms, extra = {}) {
  const rounded = Math.round(ms);
  window.waymarkTimings = window.waymarkTimings || {};
  window.waymarkTimings[name] = { ms: rounded, ...extra, at: Date.now() };
  document.documentElement.dataset[`${name}Ms`] = String(rounded);
  document.dispatchEvent(new CustomEvent('waymark:timing', { detail: { name, ms: rounded, ...extra } }));
}
