// Benchmark of the web UI's two render budgets: time to first render of the
// 50,000-span trace and of a search returning 100 traces, in headless
// Chromium against a waymark built from this tree (or WAYMARK_URL, see
// harness.js). Each is measured RUNS times (default 7) by navigating inside
// the app, as a person would, and the median is printed with every run and
// the phases of the trace view. It also times the two API calls from Node
// (server time and bytes on the wire, with and without gzip).
//
//   node bench.js            # or: npm run bench
//   RUNS=15 node bench.js

import { loadavg } from 'node:os';
import { request } from 'node:http';
import { BIG_SPANS, startWaymark, loadData, launchBrowser, phaseText, timed } from './harness.js';

const RUNS = Number(process.env.RUNS || 7);
const SEARCH = { service: 'edge', limit: '100' };

const median = (xs) => {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : Math.round((s[m - 1] + s[m]) / 2);
};

// go moves the app to path by history navigation, as an in-app link does.
function go(page, path) {
  return page.evaluate((p) => {
    history.pushState(null, '', p);
    dispatchEvent(new PopStateEvent('popstate'));
  }, path);
}

// resourceTiming returns, for the page's latest request whose URL contains
// part, the server's time to first byte, the download time and the bytes
// on the wire, and clears the page's resource timings.
function resourceTiming(page, part) {
  return page.evaluate((p) => {
    const e = performance.getEntriesByType('resource').filter((x) => x.name.includes(p)).pop();
    performance.clearResourceTimings();
    const t = window.waymarkTimings.trace;
    return e ? {
      queueMs: e.requestStart - t.fetchAt,
      ttfbMs: e.responseStart - e.requestStart,
      downloadMs: e.responseEnd - e.responseStart,
      textMs: t.bodyAt - e.responseEnd,
      wireBytes: e.transferSize,
      bodyBytes: e.decodedBodySize,
    } : {};
  }, part);
}

// apiTiming gets url n times from Node and returns the median time to the
// last byte and the bytes on the wire, with the Accept-Encoding given.
async function apiTiming(url, encoding, n) {
  const once = () => new Promise((resolve, reject) => {
    const t0 = performance.now();
    request(url, { headers: { 'Accept-Encoding': encoding } }, (res) => {
      let bytes = 0;
      res.on('data', (d) => { bytes += d.length; });
      res.on('end', () => (res.statusCode === 200 ? resolve({ ms: performance.now() - t0, bytes }) : reject(new Error(`${url}: ${res.statusCode}`))));
      res.on('error', reject);
    }).on('error', reject).end();
  });
  const runs = [];
  for (let i = 0; i < n; i++) runs.push(await once());
  return { ms: Math.round(median(runs.map((r) => r.ms))), bytes: runs[0].bytes };
}

async function main() {
  const server = await startWaymark();
  const browser = await launchBrowser();
  try {
    const data = await loadData(server.otlp);
    const { page } = browser;
    await page.goto(`${server.base}/search`);
    await page.waitForSelector('[data-testid=result-count]');

    const search = [];
    const trace = [];
    const phases = [];
    for (let i = 0; i < RUNS; i++) {
      const s = await timed(page, 'search', () => go(page, `/search?service=${SEARCH.service}&limit=${SEARCH.limit}&run=${i}`), { traces: 100 });
      search.push(s.ms);
      const t = await timed(page, 'trace', () => go(page, `/trace/${data.bigId}?run=${i}`), { spans: BIG_SPANS });
      trace.push(t.ms);
      phases.push({ ...t, ...await resourceTiming(page, '/api/waymark/trace/') });
    }
    if (page.pageErrors.length) throw new Error(`the page threw: ${page.pageErrors.join('; ')}`);

    const now = Date.now() * 1000;
    const q = new URLSearchParams({ ...SEARCH, start: String(now - 3600e6), end: String(now) });
    const api = {
      'trace, identity': await apiTiming(`${server.base}/api/waymark/trace/${data.bigId}`, 'identity', 3),
      'trace, gzip': await apiTiming(`${server.base}/api/waymark/trace/${data.bigId}`, 'gzip', 3),
      'search, identity': await apiTiming(`${server.base}/api/waymark/trace-summaries?${q}`, 'identity', 5),
      'search, gzip': await apiTiming(`${server.base}/api/waymark/trace-summaries?${q}`, 'gzip', 5),
    };

    console.log(`Waymark UI benchmark, ${RUNS} runs, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    console.log(`  time to first render, ${BIG_SPANS}-span trace: median ${median(trace)} ms (runs: ${trace.join(' ')})`);
    const pm = (k) => Math.round(median(phases.map((p) => p[k] || 0)));
    const mid = { ms: pm('ms'), fetchMs: pm('fetchMs'), parseMs: pm('parseMs'), buildMs: pm('buildMs'), renderMs: pm('renderMs') };
    console.log(`    phases (median of each): ${phaseText(mid)}`);
    console.log(`    the fetch: to the request ${pm('queueMs')} ms, server to first byte ${pm('ttfbMs')} ms, download ${pm('downloadMs')} ms, body as text ${pm('textMs')} ms; ${pm('wireBytes')} bytes on the wire for ${pm('bodyBytes')}`);
    console.log(`  time to first render, search returning 100 traces: median ${median(search)} ms (runs: ${search.join(' ')})`);
    for (const [k, v] of Object.entries(api)) console.log(`  API ${k}: ${v.ms} ms, ${v.bytes} bytes`);
  } finally {
    await browser.close();
    await server.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
