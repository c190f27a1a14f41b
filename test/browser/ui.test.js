// Browser tests of Waymark's web UI: build the waymark binary, start it on
// free loopback ports with a temporary data directory, load generated
// traces over OTLP/HTTP JSON, and click through every view in headless
// Chromium. Screenshots go to artifacts/. Render timings are measured and
// printed against their budgets, but do not fail the run: they depend on
// the machine's load, and speed is what benchmarks are for.
//
// To test a Waymark that is already running instead, set WAYMARK_URL (query
// port) and WAYMARK_OTLP_URL (OTLP/HTTP port).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIG_SPANS, OTHER_TENANT, startWaymark, loadData, launchBrowser, phaseText, timed as timedOn } from './harness.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, 'artifacts');
const BUDGET = { trace: 2000, search: 500 };

let server = null;
let browser = null;
let base = '';
let page = null;
let data = null;
const timings = {};

const timed = (name, action, want) => timedOn(page, name, action, want);

async function shot(name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startWaymark();
  base = server.base;
  data = await loadData(server.otlp);
  browser = await launchBrowser();
  page = browser.page;
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  const lines = Object.entries(timings).map(([k, [ms, budget]]) => `  ${k}: ${ms} ms (budget ${budget} ms${ms > budget ? ', OVER BUDGET' : ''})`);
  if (lines.length) console.log(`Waymark UI render timings:\n${lines.join('\n')}`);
});

function noPageErrors() {
  assert.deepEqual(page.pageErrors.map(String), [], 'the page threw');
}

test('search by service lists 100 traces with a scatter plot', async () => {
  await page.goto(`${base}/search`);
  await page.waitForSelector('[data-testid=result-count]');
  await page.selectOption('select[name=service]', 'edge');
  await page.fill('input[name=limit]', '100');
  const t = await timed('search', () => page.click('form[aria-label="Search traces"] button[type=submit]'), { traces: 100 });
  timings['time to first render, search returning 100 traces'] = [t.ms, BUDGET.search];
  assert.equal(t.traces, 100);
  assert.equal(await page.locator('li.trace-item').count(), 100);
  assert.equal(await page.locator('[data-testid=scatter] circle').count(), 100);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('service'), 'edge');
  assert.equal(url.searchParams.get('limit'), '100');
  await shot('01-search-service');
  // The pasted link reproduces the view.
  await page.reload();
  await page.waitForSelector('li.trace-item');
  assert.equal(await page.locator('li.trace-item').count(), 100);
  noPageErrors();
});

test('search by attribute finds only failing dc-2 requests', async () => {
  await page.selectOption('select[name=service]', '');
  await page.fill('input[name=tags]', 'datacenter=dc-2 error=true');
  await page.fill('input[name=limit]', '500');
  await timed('search', () => page.click('form[aria-label="Search traces"] button[type=submit]'));
  const expected = data.reqs.filter((r) => r.failed).length;
  const items = page.locator('li.trace-item');
  assert.equal(await items.count(), expected);
  assert.equal(await page.locator('li.trace-item:not(.has-err)').count(), 0);
  await shot('02-search-attribute');
  noPageErrors();
});

test('open a trace, collapse a subtree, open span details', async () => {
  await page.click('li.trace-item a.title >> nth=0');
  await page.waitForSelector('.tl-row');
  assert.match(new URL(page.url()).pathname, /^\/trace\/[0-9a-f]{32}$/);
  const before = await page.locator('.tl-row').count();
  assert.ok(before >= 6, `${before} rows`);
  await shot('03-trace-timeline');
  // Collapse the gateway span's subtree (second row).
  await page.click('.tl-row[data-row="1"] [data-toggle]');
  assert.equal(await page.locator('.tl-row').count(), 2);
  assert.ok(new URL(page.url()).searchParams.get('collapsed'), 'collapsed state is in the URL');
  await page.click('.tl-row[data-row="1"] [data-toggle]');
  assert.equal(await page.locator('.tl-row').count(), before);
  // Details of the app span, which failed.
  await page.click('.tl-row[data-row="3"] .op');
  await page.waitForSelector('.detail:not([hidden])');
  const detail = await page.textContent('.detail');
  assert.match(detail, /Span ID/);
  assert.match(detail, /ERROR/);
  assert.match(detail, /db pool exhausted/);
  assert.match(detail, /datacenter/);
  assert.ok(new URL(page.url()).searchParams.get('span'), 'selected span is in the URL');
  await shot('04-trace-span-details');
  // Find in trace.
  await page.fill('input[aria-label="Find in trace"]', 'SELECT');
  assert.ok((await page.locator('.tl-row.match').count()) >= 1);
  await page.fill('input[aria-label="Find in trace"]', '');
  // Keyboard: Esc closes the details, j moves down, ← collapses.
  await page.click('.tl-row[data-row="0"] .op');
  await page.keyboard.press('Escape');
  await page.waitForSelector('.detail', { state: 'hidden' });
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  assert.equal(await page.getAttribute('.tl-row.sel', 'data-row'), '1');
  await page.keyboard.press('ArrowLeft');
  assert.equal(await page.locator('.tl-row').count(), 2);
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.locator('.tl-row').count(), before);
  noPageErrors();
});

test('flame graph and statistics views', async () => {
  await page.click('.tabs button[data-view=flame]');
  await page.waitForSelector('.flame canvas');
  assert.equal(new URL(page.url()).searchParams.get('view'), 'flame');
  await shot('05-trace-flame');
  await page.click('.tabs button[data-view=stats]');
  await page.waitForSelector('[data-testid=trace-stats] tbody tr');
  assert.ok((await page.locator('[data-testid=trace-stats] tbody tr').count()) >= 5);
  await shot('06-trace-stats');
  await page.click('.tabs button[data-view=timeline]');
  noPageErrors();
});

test('compare two traces', async () => {
  await page.goto(`${base}/search?service=edge&limit=20`);
  await page.waitForSelector('li.trace-item');
  const boxes = page.locator('li.trace-item input[type=checkbox]');
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  await page.click('text=Compare selected');
  await page.waitForSelector('[data-testid=compare-table] tbody tr');
  const rows = await page.locator('[data-testid=compare-table] tbody tr').count();
  assert.ok(rows >= 5, `${rows} compared paths`);
  const url = new URL(page.url());
  assert.equal(url.pathname, '/compare');
  assert.ok(url.searchParams.get('a') && url.searchParams.get('b'));
  await shot('07-compare');
  noPageErrors();
});

test('services: dependency graph and RED table', async () => {
  await page.click('.mainnav a[data-view=services]');
  await page.waitForSelector('[data-testid=depgraph] .node');
  const nodes = await page.locator('[data-testid=depgraph] .node').evaluateAll((els) => els.map((e) => e.dataset.service));
  for (const svc of ['edge', 'gateway', 'sidecar', 'app', 'db']) assert.ok(nodes.includes(svc), `graph lacks ${svc}: ${nodes}`);
  // Calls into the failing app carry errors: their edge says so.
  const labels = await page.locator('[data-testid=depgraph] .edge-label').allTextContents();
  assert.ok(labels.some((l) => /err/.test(l)), `no edge shows errors: ${labels}`);
  await page.waitForSelector('[data-testid=service-stats] tbody tr');
  await shot('08-services');
  noPageErrors();
});

test('breakdown by datacenter singles out dc-2', async () => {
  await page.goto(`${base}/breakdown`);
  await page.selectOption('select[name=service]', 'app');
  await page.fill('input[name=attribute]', 'datacenter');
  await timed('breakdown', () => page.click('form[aria-label=Breakdown] button[type=submit]'));
  const first = await page.locator('[data-testid=breakdown-table] tbody tr').first().getAttribute('data-value');
  assert.equal(first, 'dc-2');
  assert.match(await page.textContent('[data-testid=verdict]'), /datacenter = dc-2/);
  assert.equal(await page.locator('[data-testid=breakdown-table] tbody tr.culprit').count(), 1);
  await shot('09-breakdown');
  // A value's example traces are a click away.
  await page.click('[data-testid=breakdown-table] tbody tr >> nth=0 >> text=example traces');
  await page.waitForSelector('li.trace-item');
  assert.match(await page.inputValue('input[name=tags]'), /datacenter=dc-2/);
  noPageErrors();
});

test('request ID lookup opens the trace', async () => {
  const r = data.reqs[10];
  await page.fill('#lookup-input', r.requestId);
  await page.press('#lookup-input', 'Enter');
  await page.waitForURL((u) => u.pathname === `/trace/${r.traceId}`);
  await page.waitForSelector('.tl-row');
  noPageErrors();
});

test(`the ${BIG_SPANS}-span trace opens virtualised and scrolls`, async () => {
  const t = await timed('trace', async () => {
    await page.fill('#lookup-input', data.bigId);
    await page.press('#lookup-input', 'Enter');
  }, { spans: BIG_SPANS });
  timings[`time to first render, ${BIG_SPANS}-span trace`] = [t.ms, BUDGET.trace];
  console.log(`${BIG_SPANS}-span trace: ${phaseText(t)}`);
  assert.equal(t.spans, BIG_SPANS);
  assert.equal((await page.textContent('[data-testid=span-count]')).replace(/\D/g, ''), String(BIG_SPANS));
  const inDom = await page.locator('.tl-row').count();
  assert.ok(inDom > 10 && inDom < 200, `${inDom} rows in the DOM: the timeline is not virtualised`);
  await shot('10-big-trace');
  // Scroll through: rows far down must be rendered on demand.
  for (const frac of [0.25, 0.5, 0.999]) {
    await page.evaluate((f) => {
      const el = document.querySelector('.tl-scroll');
      el.scrollTop = f * (el.scrollHeight - el.clientHeight);
    }, frac);
    await page.waitForFunction((f) => {
      const el = document.querySelector('.tl-scroll');
      const rows = [...document.querySelectorAll('.tl-row')].map((r) => Number(r.dataset.row));
      const want = Math.floor((f * (el.scrollHeight - el.clientHeight)) / 22);
      return rows.some((r) => r >= want && r <= want + 5);
    }, frac);
    assert.ok((await page.locator('.tl-row').count()) < 200);
  }
  await shot('11-big-trace-scrolled');
  noPageErrors();
});

test('the tenant selector switches tenants and links keep the tenant', async () => {
  await page.goto(`${base}/search?limit=50`);
  await page.waitForSelector('[data-testid=result-count]');
  await page.fill('#tenant-input', OTHER_TENANT);
  await page.press('#tenant-input', 'Enter');
  await page.waitForFunction((t) => new URL(location.href).searchParams.get('tenant') === t, OTHER_TENANT);
  await page.waitForFunction((n) => document.querySelectorAll('li.trace-item').length === n, data.other.length);
  const ids = await page.locator('li.trace-item').evaluateAll((els) => els.map((e) => e.dataset.traceId));
  assert.deepEqual(ids.sort(), data.other.map((r) => r.traceId).sort());
  await page.click('li.trace-item a.title >> nth=0');
  await page.waitForSelector('.tl-row');
  assert.equal(new URL(page.url()).searchParams.get('tenant'), OTHER_TENANT);
  await shot('12-tenant');
  // The default tenant cannot see the other tenant's trace.
  const res = await fetch(`${base}/api/waymark/trace/${ids[0]}`);
  assert.equal(res.status, 404);
  noPageErrors();
});

test('missing traces and empty answers explain themselves', async () => {
  await page.goto(`${base}/trace/0123456789abcdef0123456789abcdef`);
  await page.waitForSelector('.banner.error');
  assert.match(await page.textContent('.banner.error'), /No trace has ID or request ID 0123456789abcdef0123456789abcdef/);
  await page.goto(`${base}/search?service=no-such-service`);
  await page.waitForSelector('.empty');
  assert.match(await page.textContent('.empty'), /No traces match/);
  await page.goto(`${base}/breakdown?service=no-such-service&run=1`);
  await page.waitForSelector('.verdict');
  assert.match(await page.textContent('.verdict'), /No spans match/);
  await page.goto(`${base}/search?minDuration=fast`);
  await page.waitForSelector('.banner.error');
  assert.match(await page.textContent('.banner.error'), /minDuration/);
  noPageErrors();
});
