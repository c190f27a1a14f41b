// Unit tests of the UI's pure modules (trace model, compare alignment,
// layout and formatting), run by Node without a browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTrace, criticalPath, spanMatcher, statsBy } from '../../internal/ui/static/js/tracemodel.js';
import { fmtDuration, parseDurationInput, parseLogfmt, toLogfmt, niceTicks } from '../../internal/ui/static/js/util.js';
import { mergePaths } from '../../internal/ui/static/js/compare.js';
import { layers } from '../../internal/ui/static/js/services.js';

// ID turns a short test name (up to 8 ASCII characters) into a span ID in
// hex, its bytes padded with zeros; short undoes it. b64 is an ID as the
// compact form's ids string holds it.
const ID = (x) => Buffer.from(x.padEnd(8, '\0')).toString('hex');
const short = (id) => Buffer.from(id, 'hex').toString().replace(/\0+$/, '');
const b64 = (id) => Buffer.from(id, 'hex').toString('base64url');

// compact builds the compact trace JSON of /api/waymark/trace/{id} from
// [id, parentIndex, service, name, start, duration, status] rows.
function compact(rows, extra = {}) {
  const strings = [];
  const str = (x) => {
    let i = strings.indexOf(x);
    if (i < 0) {
      i = strings.length;
      strings.push(x);
    }
    return i;
  };
  const services = [...new Set(rows.map((r) => r[2]))];
  return {
    traceID: 't1',
    startUs: 1000,
    strings,
    resources: services.map((name) => ({ name, attributes: [str('service.name'), name, str('datacenter'), 'dc-1'] })),
    scopes: [{ name: 'lib', version: '1', attributes: null }],
    spans: {
      ids: rows.map((r) => b64(ID(r[0]))).join(''),
      parent: rows.map((r) => r[1]),
      resource: rows.map((r) => services.indexOf(r[2])),
      scope: rows.map(() => 0),
      name: rows.map((r) => str(r[3])),
      kind: rows.map(() => 2),
      status: rows.map((r) => r[6] || 0),
      start: rows.map((r) => r[4]),
      duration: rows.map((r) => r[5]),
      attrCount: rows.map(() => 1),
      attrs: rows.flatMap((r) => [str('http.route'), `/r/${r[0]}`]),
      ...extra,
    },
  };
}

// root [0,100] → a [10,60] → c [20,40]; root → b [50,90] (error).
const ROWS = [
  ['root', -1, 'edge', 'GET /', 0, 100],
  ['b', 0, 'app', 'work', 50, 40, 2],
  ['a', 0, 'app', 'work', 10, 50],
  ['c', 2, 'db', 'query', 20, 20],
];

test('buildTrace: tree, order, depth, counts', () => {
  const t = buildTrace(compact(ROWS));
  assert.deepEqual(t.spans.map((s) => short(s.id)), ['root', 'a', 'c', 'b']);
  assert.deepEqual(t.spans.map((s) => s.depth), [0, 1, 2, 1]);
  assert.equal(t.depth, 3);
  assert.equal(t.errors, 1);
  assert.equal(t.duration, 100);
  assert.equal(t.start, 1000);
  assert.equal(t.byId.get(ID('root')).descendants, 3);
  assert.equal(t.byId.get(ID('a')).descendants, 1);
  assert.equal(t.services.get('app').count, 2);
  assert.equal(t.byId.get(ID('b')).error, true);
  assert.equal(t.byId.get(ID('c')).parentId, ID('a'));
  assert.deepEqual(t.byId.get(ID('c')).tags, [{ key: 'http.route', value: '/r/c' }]);
  assert.deepEqual(t.byId.get(ID('c')).process.tags.find((x) => x.key === 'datacenter'), { key: 'datacenter', value: 'dc-1' });
});

test('buildTrace: self time subtracts the union of children', () => {
  const t = buildTrace(compact(ROWS));
  // root: children cover [10,60] ∪ [50,90] = [10,90] → self 20.
  assert.equal(t.byId.get(ID('root')).self, 20);
  assert.equal(t.byId.get(ID('a')).self, 30);
  assert.equal(t.byId.get(ID('c')).self, 20);
});

test('buildTrace: orphans become roots and cycles are cut', () => {
  const t = buildTrace(compact([
    ['x', 1, 'svc', 'op', 0, 10],
    ['y', 0, 'svc', 'op', 1, 5],
    ['z', -1, 'svc', 'op', 2, 1],
  ], { parentID: { 2: 'gone' } }));
  assert.equal(t.spans.length, 3);
  assert.equal(new Set(t.spans.map((s) => short(s.id))).size, 3);
  assert.equal(t.byId.get(ID('z')).parentId, 'gone');
  assert.ok(t.roots.length >= 2);
  for (const s of t.spans) assert.equal(s.descendants, s.children.reduce((n, c) => n + 1 + c.descendants, 0));
});

test('criticalPath: the last-finishing chain and the gaps', () => {
  const t = buildTrace(compact(ROWS));
  const segs = criticalPath(t);
  const of = (id) => (segs.get(t.byId.get(ID(id)).i) || []).map(([a, b]) => [a - t.start, b - t.start]);
  // Walking back from 100: root alone [90,100], then b [50,90], then a's
  // part before b started [10,50] minus c, root again [0,10].
  assert.deepEqual(of('b'), [[50, 90]]);
  assert.deepEqual(of('root').sort((x, y) => x[0] - y[0]), [[0, 10], [90, 100]]);
  assert.deepEqual(of('c'), [[20, 40]]);
  assert.deepEqual(of('a').sort((x, y) => x[0] - y[0]), [[10, 20], [40, 50]]);
  const total = [...segs.values()].flat().reduce((n, [a, b]) => n + b - a, 0);
  assert.equal(total, 100, 'the critical path covers the whole trace once');
});

test('spanMatcher: every term must match service, name, id or a tag', () => {
  const t = buildTrace(compact(ROWS));
  const ids = (q) => t.spans.filter(spanMatcher(q)).map((s) => short(s.id));
  assert.deepEqual(ids('app'), ['a', 'b']);
  assert.deepEqual(ids('app /r/b'), ['b']);
  assert.deepEqual(ids('DATACENTER=dc-1 query'), ['c']);
  assert.equal(spanMatcher('  '), null);
});

test('statsBy: per service and operation', () => {
  const t = buildTrace(compact(ROWS));
  const g = statsBy(t, (s) => `${s.service}/${s.op}`).find((x) => x.key === 'app/work');
  assert.equal(g.count, 2);
  assert.equal(g.total, 90);
  assert.equal(g.min, 40);
  assert.equal(g.max, 50);
  assert.equal(g.errors, 1);
});

test('mergePaths: aligns by service/operation path', () => {
  const a = buildTrace(compact(ROWS));
  const b = buildTrace(compact([
    ['root', -1, 'edge', 'GET /', 0, 200],
    ['a', 0, 'app', 'work', 10, 150],
    ['n', 1, 'cache', 'get', 20, 5],
  ]));
  const rows = mergePaths(a, b).map((r) => [r.service, r.op, r.depth, r.a ? r.a.count : 0, r.b ? r.b.count : 0]);
  assert.deepEqual(rows, [
    ['edge', 'GET /', 0, 1, 1],
    ['app', 'work', 1, 2, 1],
    ['db', 'query', 2, 1, 0],
    ['cache', 'get', 2, 0, 1],
  ]);
});

test('layers: longest path from sources, cycles broken', () => {
  const l = layers(['a', 'b', 'c', 'd'], [
    { parent: 'a', child: 'b' }, { parent: 'b', child: 'c' }, { parent: 'a', child: 'c' }, { parent: 'c', child: 'b' }, { parent: 'd', child: 'd' },
  ]);
  assert.equal(l.get('a'), 0);
  assert.equal(l.get('b'), 1);
  assert.equal(l.get('c'), 2);
  assert.equal(l.get('d'), 0);
});

test('formatting and parsing', () => {
  const cases = [
    [0, '0'], [0.5, '500ns'], [12.345, '12.3µs'], [1500, '1.5ms'], [123456, '123ms'], [1.5e6, '1.5s'], [125e6, '2m 5s'], [3 * 3600e6 + 60e6, '3h 1m'],
  ];
  for (const [us, want] of cases) assert.equal(fmtDuration(us), want, `fmtDuration(${us})`);
  assert.equal(parseDurationInput('1.5s'), 1.5e6);
  assert.equal(parseDurationInput('250ms'), 250e3);
  assert.equal(parseDurationInput('40us'), 40);
  assert.equal(parseDurationInput(''), null);
  assert.ok(Number.isNaN(parseDurationInput('5')));
  assert.deepEqual(niceTicks(0, 100, 5), [0, 20, 40, 60, 80, 100]);
});

test('logfmt round trip', () => {
  const tags = { error: 'true', 'db.statement': 'select * from "users"', empty: '', 'http.status_code': '500' };
  const text = toLogfmt(tags);
  assert.deepEqual(parseLogfmt(text), tags);
  assert.deepEqual(parseLogfmt('a=1   b="x y"'), { a: '1', b: 'x y' });
  assert.throws(() => parseLogfmt('novalue'), /key=value/);
  assert.throws(() => parseLogfmt('a="unterminated'), /key=value/);
});

test('buildTrace: the error=true tag marks a span failed', () => {
  const ct = compact([['r', -1, 'svc', 'op', 0, 10], ['c', 0, 'svc', 'op', 1, 5]]);
  const errKey = ct.strings.push('error') - 1;
  ct.spans.attrs.push(errKey, true);
  ct.spans.attrCount[1]++;
  const t = buildTrace(ct);
  assert.equal(t.byId.get(ID('c')).error, true);
  assert.equal(t.byId.get(ID('r')).error, false);
  assert.equal(t.errors, 1);
});

test('buildTrace: columns sent as base64url digits read as arrays do', () => {
  const DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const ct = compact(ROWS);
  for (const f of ['resource', 'scope', 'name', 'kind', 'status', 'attrCount']) ct.spans[f] = ct.spans[f].map((v) => DIGITS[v]).join('');
  const view = (t) => t.spans.map((s) => [s.id, s.parentId, s.service, s.op, s.kind, s.status, s.error, JSON.stringify(s.tags), s.scope.name]);
  assert.deepEqual(view(buildTrace(ct)), view(buildTrace(compact(ROWS))));
  // Every byte value survives the ID digits.
  const id = 'ff00a55a0123fedc';
  const one = compact([['x', -1, 'svc', 'op', 0, 1]]);
  one.spans.ids = b64(id);
  assert.equal(buildTrace(one).spans[0].id, id);
});

test('buildTrace: children by start, then name', () => {
  const t = buildTrace(compact([
    ['r', -1, 'svc', 'root', 0, 100],
    ['c5', 0, 'svc', 'zeta', 30, 1],
    ['c4', 0, 'svc', 'beta', 30, 1],
    ['c3', 0, 'svc', 'op', 20, 1],
    ['c2', 0, 'svc', 'op', 10, 1],
    ['c1', 0, 'svc', 'alpha', 30, 1],
    ['r2', -1, 'svc', 'b', 0, 5],
  ]));
  // Roots too: r2 ("b") starts with r ("root") and sorts first.
  assert.deepEqual(t.spans.map((s) => short(s.id)), ['r2', 'r', 'c2', 'c3', 'c1', 'c4', 'c5']);
  assert.deepEqual(t.roots.map((s) => short(s.id)), ['r2', 'r']);
});
