// Shared set-up of the browser tests and the UI benchmark: build and start
// waymark on free loopback ports with a temporary data directory (or use
// one already running), load the generated traces over OTLP/HTTP JSON,
// launch headless Chromium, and wait for a view's render timing.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { requests, bigTrace } from './gen.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const BIG_SPANS = 50_000;
export const REQUESTS = 600;
export const OTHER_TENANT = 'team-b';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitReady(url, proc, logs) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`waymark exited with ${proc.exitCode}:\n${logs.join('')}`);
    try {
      const res = await fetch(`${url}/ready`);
      if (res.ok) return;
    } catch { /* not listening yet */ }
    await sleep(200);
  }
  throw new Error(`waymark not ready after 60s:\n${logs.join('')}`);
}

// startWaymark returns { base, otlp, stop() }: the query and OTLP/HTTP base
// URLs of a waymark built from this tree, or of the one WAYMARK_URL and
// WAYMARK_OTLP_URL name.
export async function startWaymark() {
  if (process.env.WAYMARK_URL) {
    const base = process.env.WAYMARK_URL.replace(/\/$/, '');
    const otlp = (process.env.WAYMARK_OTLP_URL || '').replace(/\/$/, '');
    await waitReady(base, null, []);
    return { base, otlp, stop: async () => {} };
  }
  const work = mkdtempSync(path.join(tmpdir(), 'waymark-browser-'));
  const bin = path.join(work, 'waymark');
  execFileSync('go', ['build', '-o', bin, './cmd/waymark'], { cwd: ROOT, stdio: 'inherit', timeout: 600_000 });
  const [queryPort, otlpPort] = [await freePort(), await freePort()];
  const args = ['all-in-one', `--data_dir=${path.join(work, 'data')}`, '--listen.address=127.0.0.1',
    `--receivers.otlp_http_port=${otlpPort}`, `--query.jaeger_port=${queryPort}`,
    '--receivers.otlp_grpc_port=0', '--receivers.zipkin_port=0', '--receivers.jaeger_thrift_http_port=0', '--receivers.jaeger_grpc_port=0',
    '--receivers.jaeger_compact_port=0', '--receivers.jaeger_binary_port=0', '--query.tempo_port=0'];
  const logs = [];
  const server = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout.on('data', (d) => logs.push(String(d)));
  server.stderr.on('data', (d) => logs.push(String(d)));
  const base = `http://127.0.0.1:${queryPort}`;
  const otlp = `http://127.0.0.1:${otlpPort}`;
  const stop = async () => {
    server.kill('SIGTERM');
    await new Promise((r) => (server.exitCode !== null ? r() : server.once('exit', r)));
    rmSync(work, { recursive: true, force: true });
  };
  try {
    await waitReady(base, server, logs);
  } catch (e) {
    await stop();
    throw e;
  }
  return { base, otlp, stop };
}

async function post(otlp, payload, tenant) {
  const body = JSON.stringify(payload);
  const headers = { 'Content-Type': 'application/json' };
  if (tenant) headers['X-Scope-OrgID'] = tenant;
  for (let attempt = 0; attempt < 20; attempt++) {
    const res = await fetch(`${otlp}/v1/traces`, { method: 'POST', headers, body });
    if (res.ok) return;
    if (res.status !== 429 && res.status !== 503) throw new Error(`OTLP export: ${res.status} ${await res.text()}`);
    await sleep(250 * (attempt + 1));
  }
  throw new Error('OTLP export kept being refused');
}

// loadData sends the request traces, the big trace and a few traces of
// OTHER_TENANT, and returns what was generated.
export async function loadData(otlp) {
  const endMs = Date.now() - 5000;
  const reqs = requests({ n: REQUESTS, endMs, windowMs: 30 * 60 * 1000 });
  const big = bigTrace({ spans: BIG_SPANS, endMs });
  for (const p of [...reqs.payloads, ...big.payloads]) await post(otlp, p);
  const other = requests({ n: 3, endMs, windowMs: 60 * 1000, seed: 99 });
  for (const p of other.payloads) await post(otlp, p, OTHER_TENANT);
  return { reqs: reqs.traces, bigId: big.traceId, other: other.traces };
}

// launchBrowser starts headless Chromium with a fresh profile and returns
// { context, page, close() }; the page collects its uncaught errors in
// page.pageErrors.
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`);
  const profile = mkdtempSync(path.join(tmpdir(), 'waymark-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 900 },
  });
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(30_000);
  page.pageErrors = [];
  page.on('pageerror', (e) => page.pageErrors.push(e));
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, page, close };
}

// timed runs action and waits for the view to record its render timing
// (with the fields in want, if given), and returns it. A timing recorded
// before the action does not count.
export async function timed(page, name, action, want = {}) {
  const t0 = await page.evaluate(() => Date.now());
  await action();
  await page.waitForFunction(([n, t, w]) => {
    const m = window.waymarkTimings && window.waymarkTimings[n];
    return m && m.at >= t && Object.entries(w).every(([k, v]) => m[k] === v);
  }, [name, t0, want], { timeout: 60_000 });
  return page.evaluate((n) => window.waymarkTimings[n], name);
}

// phaseText describes where a trace view's render time went, from the
// phases it records with its timing.
export function phaseText(t) {
  const frame = t.ms - t.fetchMs - t.parseMs - t.buildMs - t.renderMs;
  return `fetch ${t.fetchMs} ms, JSON.parse ${t.parseMs} ms, model ${t.buildMs} ms, view ${t.renderMs} ms, to the next frame ${frame} ms`;
}
