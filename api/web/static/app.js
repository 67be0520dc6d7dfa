// The dashboard. It reads the head-end's API (/api/v1) with the bearer
// token the page was opened with (#token=...), and shows one view at a time,
// chosen by the URL fragment: #/loss (the default: the areas table, sorted
// and paged in the browser, filtered by the API, and the chosen area's daily
// loss, flags and theft ranking), #/map (map.js), #/assessment
// (assessment.js), #/inspections (inspections.js) and #/review (review.js).
// A fragment may carry parameters, #/map?date=2025-06-10, and the token,
// #/map?token=...; the token is taken out at once. This module owns the API
// access, the token prompt and the routing, and gives the other views what
// they need through a context (see ctx below). Plain ES modules, no build
// step; uPlot is the global that vendor/uplot/uPlot.iife.min.js defines.
//
// Stable hooks for tests: #areas[data-state=ready] once a list is drawn,
// with data-render-ms, data-fetch-ms and data-loads (lists drawn so far);
// #area-count[data-count]; #areas tbody tr[data-id][data-rate][data-class];
// #detail[data-state=ready] once an area's three sections are drawn;
// #trend canvas; #flags and #theft tbody tr.

import { mountMap } from './map.js';
import { mountAssessment } from './assessment.js';
import { mountInspections } from './inspections.js';
import { mountReview } from './review.js';

const API = 'api/v1'; // relative to the page, which the daemon serves at "/"
const TOKEN_KEY = 'headend.token';
const PAGE_SIZE = 100;
const CHART_HEIGHT = 230;

const $ = (sel) => document.querySelector(sel);

// ---- API access -----------------------------------------------------------

class AuthError extends Error {}
class HTTPError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// parseHash splits the URL fragment into a view ("" when it names none)
// and its parameters: "#/map?date=2025-06-10" or the old "#token=...".
function parseHash() {
  const h = location.hash.slice(1);
  if (!h.startsWith('/')) return { view: '', params: new URLSearchParams(h) };
  const i = h.search(/[?&]/);
  return { view: (i < 0 ? h : h.slice(0, i)).slice(1), params: new URLSearchParams(i < 0 ? '' : h.slice(i + 1)) };
}

// setHash writes a view and its parameters to the address bar without
// navigating (no hashchange).
function setHash(view, params) {
  const q = params.toString();
  const frag = view ? `/${view}${q ? '?' + q : ''}` : q;
  history.replaceState(history.state, '', location.pathname + location.search + (frag ? '#' + frag : ''));
}

// takeToken moves a token from the URL fragment to sessionStorage and
// strips it from the address bar (and so from history and bookmarks).
function takeToken() {
  const { view, params } = parseHash();
  if (!params.has('token')) return;
  const token = params.get('token').trim();
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  params.delete('token');
  setHash(view, params);
}

// request sends method to API + path with the query params that are set
// and json as the body (when given), and returns the decoded JSON, or the
// text when text is set. It throws AuthError on 401 and HTTPError on other
// failures, with the API's {"error": ...} text.
async function request(method, path, { params = {}, json, text = false, signal } = {}) {
  const url = new URL(API + path, document.baseURI);
  for (const [k, v] of Object.entries(params)) if (v) url.searchParams.set(k, v);
  const headers = { Accept: text ? 'text/csv, text/plain, */*' : 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = 'Bearer ' + token;
  const init = { method, headers, signal, credentials: 'omit', cache: 'no-store' };
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  }
  const res = await fetch(url, init);
  if (res.ok && text) return res.text();
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: the status says enough
  }
  const why = (body && body.error) || `${res.status} ${res.statusText}`;
  if (res.status === 401) throw new AuthError(token ? `The head-end refused the token: ${why}` : 'No token was given.');
  if (!res.ok) throw new HTTPError(res.status, `${method} ${url.pathname}: ${why}`);
  return body;
}

// api GETs API + path with the query params that are set (see request).
const api = (path, params = {}, signal) => request('GET', path, { params, signal });

let tokenWait = null;

// askToken shows the token prompt once, however many requests were refused,
// and resolves when a token was entered.
function askToken(reason) {
  if (tokenWait) return tokenWait;
  tokenWait = new Promise((resolve) => {
    const dlg = $('#token-dialog');
    $('#token-reason').textContent = reason;
    $('#token-input').value = '';
    $('#token-form').onsubmit = (ev) => {
      ev.preventDefault();
      const v = $('#token-input').value.trim();
      if (!v) return;
      sessionStorage.setItem(TOKEN_KEY, v);
      dlg.close();
      tokenWait = null;
      resolve();
    };
    if (!dlg.open) dlg.showModal();
    $('#token-input').focus();
  });
  return tokenWait;
}

// withAuth runs fn, asking for a token and running it again while the API
// answers 401.
async function withAuth(fn) {
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof AuthError)) throw e;
      setStatus('Waiting for a token…');
      await askToken(e.message);
    }
  }
}

const isAbort = (e) => e && e.name === 'AbortError';

// ---- formatting -----------------------------------------------------------

// dec formats an API decimal string with thousands separators, keeping its
// digits exactly; "" (nothing computable) is a dash.
function dec(s) {
  if (s === '' || s == null) return '–';
  const m = /^([-+]?)(\d+)(\.\d+)?$/.exec(String(s));
  if (!m) return String(s);
  return m[1] + m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (m[3] || '');
}
const intFmt = new Intl.NumberFormat('en-US');
const int = (n) => (n == null ? '–' : intFmt.format(n));
const num = (s) => (s === '' || s == null ? NaN : Number(s));
const className = (c) => String(c || '').replace(/_/g, ' ');
const pct = (f) => (f == null ? '–' : `${Math.round(f * 100)}%`);
const shortFmt = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

// el builds an element: el('td', {class: 'num'}, 'text', childNode, ...).
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === 'class') e.className = v;
      else e.setAttribute(k, v === true ? '' : v);
    }
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
}

function clsBadge(c) {
  return el('span', { class: `cls cls-${c}`, title: className(c) }, className(c));
}

function setStatus(msg, isError = false) {
  const s = $('#status');
  s.textContent = msg;
  s.classList.toggle('error', isError);
}

// ---- state ----------------------------------------------------------------

const state = {
  meta: null,
  classes: [], // the API's order: not_computable, negative, low, qualified, high
  areas: [], // as the API sent them, each with parsed numbers in .n
  view: [], // areas after the search box, sorted
  sort: { key: 'rate', dir: -1 },
  page: 0,
  range: { from: '', to: '' },
  selected: null, // the area shown in the detail panel
  listCtl: null,
  detailCtl: null,
  chart: null,
};

const NUMERIC = new Set(['rate', 'supply', 'sales', 'loss', 'collection_rate', 'flags']);
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

function parseArea(a) {
  a.n = {
    rate: num(a.rate),
    supply: num(a.supply),
    sales: num(a.sales),
    loss: num(a.loss),
    collection_rate: num(a.collection_rate),
    flags: a.flags ?? 0,
  };
  a.search = `${a.id} ${a.name}`.toLowerCase();
  return a;
}

// compare orders two areas by the current sort; an area without a value
// (no computable day) sorts last either way; ties go by id.
function compare(a, b) {
  const { key, dir } = state.sort;
  let c = 0;
  if (NUMERIC.has(key)) {
    const x = a.n[key];
    const y = b.n[key];
    const xn = Number.isNaN(x);
    const yn = Number.isNaN(y);
    if (xn || yn) {
      if (xn !== yn) return xn ? 1 : -1;
    } else c = (x - y) * dir;
  } else if (key === 'class') {
    c = (state.classes.indexOf(a.class) - state.classes.indexOf(b.class)) * dir;
    if (c === 0 && !Number.isNaN(a.n.rate) && !Number.isNaN(b.n.rate)) c = (a.n.rate - b.n.rate) * dir;
  } else {
    c = collator.compare(a[key] ?? '', b[key] ?? '') * dir;
  }
  return c || collator.compare(a.id, b.id);
}

function applyView() {
  const q = $('#filter-search').value.trim().toLowerCase();
  state.view = q ? state.areas.filter((a) => a.search.includes(q)) : state.areas.slice();
  state.view.sort(compare);
  const pages = Math.max(1, Math.ceil(state.view.length / PAGE_SIZE));
  state.page = Math.min(state.page, pages - 1);
}

// ---- the areas table ------------------------------------------------------

function areaRow(a) {
  const sel = a.id === state.selected;
  return el(
    'tr',
    {
      'data-id': a.id,
      'data-rate': a.rate,
      'data-class': a.class,
      'data-feeder': a.feeder,
      'data-testid': 'area-row',
      tabindex: '0',
      'aria-selected': sel ? 'true' : 'false',
    },
    el('td', null, a.id),
    el('td', { title: a.name }, a.name),
    el('td', null, a.feeder),
    el(
      'td',
      { class: `num rate cls-${a.class}`, title: `${a.computable_days} of ${a.days} days computable` },
      a.rate === '' ? '–' : dec(a.rate),
    ),
    el('td', null, clsBadge(a.class)),
    el('td', { class: 'num' }, dec(a.supply)),
    el('td', { class: 'num' }, dec(a.sales)),
    el('td', { class: 'num' }, dec(a.loss)),
    el('td', { class: 'num' }, dec(a.collection_rate)),
    el('td', { class: 'num' }, a.flags ? el('span', { class: 'flags-badge' }, int(a.flags)) : ''),
  );
}

function renderTable() {
  const t0 = performance.now();
  const table = $('#areas');
  const start = state.page * PAGE_SIZE;
  const rows = state.view.slice(start, start + PAGE_SIZE);
  const frag = document.createDocumentFragment();
  for (const a of rows) frag.append(areaRow(a));
  table.tBodies[0].replaceChildren(frag);

  for (const th of table.tHead.rows[0].cells) {
    const on = th.dataset.sort === state.sort.key;
    if (on) th.setAttribute('aria-sort', state.sort.dir > 0 ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  }
  const total = state.areas.length;
  const shown = state.view.length;
  const count = $('#area-count');
  count.dataset.count = String(shown);
  count.dataset.total = String(total);
  count.textContent = shown === total ? int(total) : `${int(shown)} of ${int(total)}`;
  $('#areas-empty').hidden = shown > 0;

  const pages = Math.max(1, Math.ceil(shown / PAGE_SIZE));
  $('#page-info').textContent = shown ? `${int(start + 1)}–${int(start + rows.length)} of ${int(shown)}` : '';
  $('#page-prev').disabled = state.page === 0;
  $('#page-next').disabled = state.page >= pages - 1;
  $('#pager').hidden = pages <= 1;

  renderClassSummary();
  const ms = performance.now() - t0;
  table.dataset.renderMs = ms.toFixed(1);
  return ms;
}

function renderClassSummary() {
  const counts = new Map();
  for (const a of state.view) counts.set(a.class, (counts.get(a.class) || 0) + 1);
  const out = [];
  for (const c of [...state.classes].reverse()) {
    if (counts.get(c)) out.push(el('span', { 'data-class': c }, clsBadge(c), ' ', int(counts.get(c))));
  }
  $('#class-summary').replaceChildren(...out);
}

// loadAreas fetches the areas for the filters and draws the table; a newer
// call aborts an older one still in flight.
async function loadAreas() {
  const from = $('#filter-from').value;
  const to = $('#filter-to').value;
  if (from && to && from > to) {
    setStatus(`The range is empty: ${from} is after ${to}.`, true);
    return;
  }
  if (state.listCtl) state.listCtl.abort();
  const ctl = new AbortController();
  state.listCtl = ctl;
  const table = $('#areas');
  table.dataset.state = 'loading';
  setStatus('Loading areas…');
  const params = { from, to, feeder: $('#filter-feeder').value, class: $('#filter-class').value };
  const t0 = performance.now();
  let body;
  try {
    body = await withAuth(() => api('/areas', params, ctl.signal));
  } catch (e) {
    if (isAbort(e)) return;
    table.dataset.state = 'error';
    setStatus(e.message, true);
    return;
  }
  if (ctl !== state.listCtl) return;
  const fetchMs = performance.now() - t0;
  state.areas = (body.areas || []).map(parseArea);
  state.range = { from: body.from || from, to: body.to || to };
  if (body.from) $('#filter-from').value = body.from;
  if (body.to) $('#filter-to').value = body.to;
  state.page = 0;
  applyView();
  const renderMs = renderTable();
  table.dataset.fetchMs = fetchMs.toFixed(1);
  table.dataset.loads = String(Number(table.dataset.loads || 0) + 1);
  table.dataset.state = 'ready';
  setStatus(`${int(state.areas.length)} areas, ${state.range.from} to ${state.range.to}`);

  if (state.selected) {
    const a = state.areas.find((x) => x.id === state.selected);
    if (a) selectArea(a.id);
    else closeDetail();
  }
  return { fetchMs, renderMs };
}

async function loadMeta() {
  const m = await withAuth(() => api('/meta'));
  state.meta = m;
  state.classes = m.classes || [];
  const feeder = $('#filter-feeder');
  feeder.replaceChildren(el('option', { value: '' }, 'all feeders'), ...(m.feeders || []).map((f) => el('option', { value: f }, f)));
  const cls = $('#filter-class');
  cls.replaceChildren(el('option', { value: '' }, 'all classes'), ...state.classes.map((c) => el('option', { value: c }, className(c))));
  for (const id of ['#filter-from', '#filter-to']) {
    if (m.first_day) $(id).min = m.first_day;
    if (m.last_day) $(id).max = m.last_day;
  }
}

// ---- the detail panel -----------------------------------------------------

function closeDetail() {
  state.selected = null;
  if (state.detailCtl) state.detailCtl.abort();
  if (state.chart) {
    state.chart.destroy();
    state.chart = null;
  }
  $('#detail-body').hidden = true;
  $('#detail-hint').hidden = false;
  $('#detail').dataset.state = 'none';
  for (const tr of $('#areas').tBodies[0].rows) tr.setAttribute('aria-selected', 'false');
}

function stat(label, value, attrs) {
  return el('div', attrs, el('dt', null, label), el('dd', null, value));
}

function renderStats(a) {
  const classes = Object.entries(a.classes || {})
    .sort((x, y) => state.classes.indexOf(y[0]) - state.classes.indexOf(x[0]))
    .map(([c, n]) => `${className(c)} ${n}`)
    .join(' · ');
  $('#detail-stats').replaceChildren(
    stat('Loss rate', el('span', { class: `cls cls-${a.class}` }, a.rate === '' ? '–' : `${dec(a.rate)} %`)),
    stat('Supply kWh', dec(a.supply)),
    stat('Sales kWh', dec(a.sales)),
    stat('Loss kWh', dec(a.loss)),
    stat('Collection rate', a.collection_rate === '' ? '–' : `${dec(a.collection_rate)} %`, { id: 'collection', 'data-testid': 'collection', 'data-value': a.collection_rate }),
    stat('Meters read', `${int(a.meters_read)} of ${int(a.meters_expected)}`, { title: `latest day; ${int(a.meters_estimated)} estimated` }),
    stat('Computable days', `${int(a.computable_days)} of ${int(a.days)}`, { title: classes }),
    stat('Open flags', int(a.flags)),
  );
}

async function selectArea(id) {
  const a = state.areas.find((x) => x.id === id);
  if (!a) return;
  state.selected = id;
  for (const tr of $('#areas').tBodies[0].rows) tr.setAttribute('aria-selected', tr.dataset.id === id ? 'true' : 'false');
  if (state.detailCtl) state.detailCtl.abort();
  const ctl = new AbortController();
  state.detailCtl = ctl;
  const detail = $('#detail');
  detail.dataset.state = 'loading';
  detail.dataset.area = id;
  $('#detail-hint').hidden = true;
  $('#detail-body').hidden = false;
  $('#detail-title').textContent = `${a.id} · ${a.name}`;
  $('#detail-title').title = `${a.feeder}, ${a.voltage_level}`;
  renderStats(a);
  for (const s of ['#trend', '#flags', '#theft']) $(s).dataset.state = 'loading';

  const { from, to } = state.range;
  const path = `/areas/${encodeURIComponent(id)}`;
  const sections = [
    withAuth(() => api(`${path}/loss`, { from, to }, ctl.signal)).then((b) => ctl === state.detailCtl && renderTrend(b.days || [])),
    withAuth(() => api(`${path}/flags`, { from, to }, ctl.signal)).then((b) => ctl === state.detailCtl && renderFlags(b.flags || [])),
    loadTheft(path, to, ctl.signal).then((b) => ctl === state.detailCtl && renderTheft(b)),
  ];
  const results = await Promise.allSettled(sections);
  if (ctl !== state.detailCtl) return;
  const failed = results.filter((r) => r.status === 'rejected' && !isAbort(r.reason));
  for (const f of failed) setStatus(f.reason.message, true);
  detail.dataset.state = failed.length ? 'error' : 'ready';
}

// loadTheft asks for the ranking of the range's last day, and for the latest
// one when that day has none. An area not ranked yet answers with a reason
// (a normal state, not an error).
async function loadTheft(path, date, signal) {
  let b;
  try {
    b = await withAuth(() => api(`${path}/theft`, { date }, signal));
  } catch (e) {
    if (!(e instanceof HTTPError) || e.status !== 404 || !date) throw e;
  }
  if (b && !b.reason) return b;
  if (!date) return b;
  return withAuth(() => api(`${path}/theft`, {}, signal));
}

function renderTrend(days) {
  const box = $('#trend');
  if (state.chart) {
    state.chart.destroy();
    state.chart = null;
  }
  const xs = [];
  const supply = [];
  const sales = [];
  const loss = [];
  const rate = [];
  const nul = (s) => (s === '' || s == null ? null : Number(s));
  for (const d of days) {
    xs.push(Date.parse(`${d.date}T00:00:00Z`) / 1000);
    supply.push(nul(d.supply));
    sales.push(nul(d.sales));
    loss.push(nul(d.loss));
    rate.push(nul(d.rate));
  }
  const computable = rate.filter((v) => v !== null).length;
  box.dataset.days = String(days.length);
  box.dataset.computable = String(computable);
  const empty = $('#trend-empty');
  if (!computable) {
    empty.textContent = days.length ? `No computable days in this range (${days.length} days, none computable).` : 'No computable days: no loss was computed in this range.';
    empty.hidden = false;
    box.hidden = true;
    box.dataset.state = 'empty';
    return;
  }
  empty.hidden = true;
  box.hidden = false;
  // With no cursor on the chart the legend shows the latest computable day.
  const latest = rate.findLastIndex((v) => v !== null);
  const data = [xs, supply, sales, loss, rate];
  const at = (fmt) => (u, v, sidx, idx) => {
    const x = idx == null ? data[sidx][latest] : v;
    return x == null ? '–' : fmt(x);
  };
  const kwh = at((v) => v.toLocaleString('en-US', { maximumFractionDigits: 2 }));
  const opts = {
    width: Math.max(200, box.clientWidth),
    height: CHART_HEIGHT,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'UTC'),
    cursor: { points: { size: 6 } },
    scales: { x: { time: true }, kwh: { range: (u, lo, hi) => [Math.min(0, lo), hi * 1.05 || 1] }, pct: { auto: true } },
    series: [
      {
        label: 'Day',
        value: (u, ts, sidx, idx) => {
          const x = idx == null ? xs[latest] : ts;
          return x == null ? '–' : new Date(x * 1e3).toISOString().slice(0, 10) + (idx == null ? ' (latest)' : '');
        },
      },
      { label: 'Supply kWh', scale: 'kwh', stroke: '#1f5fbf', width: 1.5, value: kwh },
      { label: 'Sales kWh', scale: 'kwh', stroke: '#2e9d4f', width: 1.5, value: kwh },
      { label: 'Loss kWh', scale: 'kwh', stroke: '#e08a00', width: 1, show: false, value: kwh },
      {
        label: 'Loss rate %',
        scale: 'pct',
        stroke: '#d62728',
        width: 1.5,
        dash: [5, 3],
        points: { show: true, size: 4 },
        value: at((v) => `${v.toFixed(2)} %`),
      },
    ],
    axes: [
      { grid: { stroke: '#eef0f3' } },
      { scale: 'kwh', size: 52, grid: { stroke: '#eef0f3' }, values: (u, vs) => vs.map((v) => shortFmt.format(v)) },
      { scale: 'pct', side: 1, size: 44, grid: { show: false }, values: (u, vs) => vs.map((v) => `${v}%`) },
    ],
  };
  state.chart = new uPlot(opts, data, box);
  box.dataset.state = 'ready';
}

function renderFlags(flags) {
  const tbody = $('#flags').tBodies[0];
  $('#flags-count').textContent = flags.length ? `(${int(flags.length)})` : '';
  $('#flags-empty').hidden = flags.length > 0;
  $('#flags').hidden = flags.length === 0;
  // Two rows a flag: its facts, then its summary with the evidence to
  // expand (wrapping under the whole row, which a narrow panel needs).
  const rows = flags.flatMap((f) => {
    const ev = f.evidence || [];
    const line = (e) => [e.what, e.meter && e.meter !== f.meter ? `meter ${e.meter}` : '', e.time, e.value].filter(Boolean).join(' · ');
    const more = ev.length
      ? el(
          'details',
          null,
          el('summary', null, f.summary || f.kind, el('span', { class: 'muted' }, ` · evidence (${ev.length})`)),
          el('ul', { class: 'evidence' }, ...ev.map((e) => el('li', { 'data-testid': 'evidence' }, line(e)))),
        )
      : f.summary || '';
    return [
      el(
        'tr',
        { class: 'flag-row', 'data-id': f.id, 'data-kind': f.kind, 'data-testid': 'flag-row' },
        el('td', null, f.kind),
        el('td', null, f.meter || '–'),
        el('td', null, f.start || ''),
        el('td', null, f.end || 'open'),
        el('td', { class: 'num' }, pct(f.confidence)),
      ),
      el('tr', { class: 'flag-more' }, el('td', { colspan: '5' }, more)),
    ];
  });
  tbody.replaceChildren(...rows);
  $('#flags').dataset.state = 'ready';
}

function renderTheft(b) {
  const cands = (b && b.candidates) || [];
  $('#theft-date').textContent = b && b.date ? `${b.date}${b.excess ? ` · area excess ${dec(b.excess)} kWh` : ''}` : '';
  $('#theft-empty').hidden = cands.length > 0;
  $('#theft-empty').textContent = b && b.reason ? 'No ranking yet.' : 'No theft candidates.';
  $('#theft-empty').title = (b && b.reason) || '';
  $('#theft').dataset.ranked = b && b.reason ? 'no' : 'yes';
  $('#theft').hidden = cands.length === 0;
  const rows = cands.map((c, i) =>
    el(
      'tr',
      { 'data-meter': c.meter, 'data-testid': 'theft-row' },
      el('td', { class: 'num' }, String(i + 1)),
      el('td', null, c.meter),
      el('td', { class: 'num' }, el('span', { class: 'score' }), (c.score ?? 0).toFixed(2)),
      el('td', { class: 'num' }, dec(c.drop)),
      el('td', { class: 'wrap' }, c.summary || ''),
    ),
  );
  // score bars: width from the score, set through CSSOM (no inline style attribute)
  rows.forEach((tr, i) => {
    tr.querySelector('.score').style.width = `${Math.round(Math.max(0, Math.min(1, cands[i].score || 0)) * 40)}px`;
  });
  $('#theft').tBodies[0].replaceChildren(...rows);
  $('#theft').dataset.state = 'ready';
}

// ---- wiring ---------------------------------------------------------------

function wire() {
  $('#filters').addEventListener('submit', (ev) => ev.preventDefault());
  for (const id of ['#filter-from', '#filter-to', '#filter-feeder', '#filter-class']) {
    $(id).addEventListener('change', () => loadAreas());
  }
  $('#filter-search').addEventListener('input', () => {
    state.page = 0;
    applyView();
    renderTable();
  });
  $('#areas').tHead.addEventListener('click', (ev) => {
    const th = ev.target.closest('th[data-sort]');
    if (!th) return;
    const key = th.dataset.sort;
    if (state.sort.key === key) state.sort.dir = -state.sort.dir;
    else state.sort = { key, dir: NUMERIC.has(key) || key === 'class' ? -1 : 1 };
    state.page = 0;
    applyView();
    renderTable();
  });
  const tbody = $('#areas').tBodies[0];
  tbody.addEventListener('click', (ev) => {
    const tr = ev.target.closest('tr[data-id]');
    if (tr) selectArea(tr.dataset.id);
  });
  tbody.addEventListener('keydown', (ev) => {
    const tr = ev.target.closest('tr[data-id]');
    if (!tr) return;
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      selectArea(tr.dataset.id);
    } else if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      const next = ev.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling;
      if (next) next.focus();
    }
  });
  $('#page-prev').addEventListener('click', () => {
    state.page = Math.max(0, state.page - 1);
    renderTable();
    $('#areas-scroll').scrollTop = 0;
  });
  $('#page-next').addEventListener('click', () => {
    state.page += 1;
    renderTable();
    $('#areas-scroll').scrollTop = 0;
  });
  $('#detail-close').addEventListener('click', closeDetail);
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && state.selected && !$('#token-dialog').open && !$('#layout').hidden) closeDetail();
  });
  $('#token-dialog').addEventListener('cancel', (ev) => ev.preventDefault()); // a token is needed to go on
  new ResizeObserver(() => {
    const box = $('#trend');
    if (state.chart && box.clientWidth) state.chart.setSize({ width: box.clientWidth, height: CHART_HEIGHT });
  }).observe($('#trend'));
}

// ---- views ----------------------------------------------------------------

// The status line is each view's own: route keeps the one of the view it
// leaves and brings back the one of the view it shows.
let current = '';
const statuses = {};

// ctxFor is what the view called view gets from this module. Its
// setStatus writes the status line only while that view is shown.
function ctxFor(view) {
  return {
    $,
    el,
    dec,
    int,
    api,
    request,
    withAuth,
    isAbort,
    HTTPError,
    meta: () => state.meta || {},
    setParams: (params) => {
      if (current === view) setHash(view, params);
    },
    setStatus: (msg, isError = false) => {
      statuses[view] = [msg, isError];
      if (current === view) setStatus(msg, isError);
    },
  };
}

let lossLoaded = false;
const views = {
  loss: {
    show() {
      if (lossLoaded) return;
      lossLoaded = true;
      loadAreas();
    },
  },
};

// route shows the view the fragment names (the loss view when none).
function route() {
  let { view, params } = parseHash();
  if (!views[view]) view = 'loss';
  if (current && current !== view) {
    const s = $('#status');
    statuses[current] = [s.textContent, s.classList.contains('error')];
  }
  const changed = current !== view;
  current = view;
  if (changed) setStatus(...(statuses[view] || ['']));
  for (const main of document.querySelectorAll('main.view')) main.hidden = main.dataset.view !== view;
  for (const a of document.querySelectorAll('#tabs a')) {
    if (a.dataset.view === view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  $('#filters').hidden = view !== 'loss';
  document.body.dataset.view = view;
  views[view].show(params);
}

async function main() {
  takeToken();
  wire();
  views.map = mountMap(ctxFor('map'));
  views.assessment = mountAssessment(ctxFor('assessment'));
  views.inspections = mountInspections(ctxFor('inspections'));
  views.review = mountReview(ctxFor('review'));
  try {
    await loadMeta();
  } catch (e) {
    setStatus(e.message, true);
  }
  window.addEventListener('hashchange', route);
  route();
}

main();
