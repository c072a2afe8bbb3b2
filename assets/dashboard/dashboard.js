// @ts-check
// The cluster-state dashboard page: one ES module, no build step. It listens to /events
// (server-sent events: a `snapshot` on connect, then coalesced `update`s, at most a few a second)
// and fetches only what is visible: one page of the nodes table and the ten oldest pending tasks,
// re-fetched after an update that may change them, one request in flight each. Per update the
// page's work is bounded: a few dozen text nodes, the role × status table, one chart sample
// (the chart holds at most `maxPoints`), at most FEED_MAX feed rows, and those two fetches.
// Every value is written with textContent (never as HTML).
import uPlot from './uplot.esm.js';

const FEED_MAX = 50;
const STATUSES = ['pending', 'assigned', 'running', 'completed', 'failed', 'cancelled'];
const COLORS = { pending: '#d98b00', assigned: '#8e44ad', running: '#2f6fde', completed: '#1f9d55', failed: '#d0342c', cancelled: '#7f8c8d' };
const NODE_STATUSES = ['online', 'offline', 'degraded'];
const NODE_FIELDS = 'id,role,status,resources,capabilities,last_seen';
const GiB = 2 ** 30;
const fmt = new Intl.NumberFormat('en-US');

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
/** @param {string} tag @param {string} [text] @param {string} [cls] */
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
/** @param {string} id @param {string} text */
function setText(id, text) {
  const e = $(id);
  if (e.textContent !== text) e.textContent = text;
}
/** @param {number | null | undefined} n */
const num = (n) => (n === null || n === undefined || !Number.isFinite(n) ? '–' : fmt.format(n));

/** Server clock minus page clock (ms), from the `now` of each event. */
let clockOffset = 0;
const serverNow = () => Date.now() + clockOffset;

/** @param {number} ms */
function duration(ms) {
  if (!Number.isFinite(ms)) return '–';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}
/** @param {number | null | undefined} t epoch ms */
const ago = (t) => (t === null || t === undefined || !Number.isFinite(t) ? '–' : `${duration(serverNow() - t)} ago`);
/** @param {number} bytes */
function size(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 || u === 0 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

// ───────────────────────────── header, totals, matrix, health ─────────────────────────────

/** @type {any} */
let summary = null;

/** @param {any} s the server's DashboardSummary (plus durable_revision, replicated_revision) */
function renderSummary(s) {
  summary = s;
  // The contract's test ids: plain decimal text, no separators.
  setText('cluster-id', s.cluster_id);
  setText('revision', String(s.revision));
  setText('nodes-total', String(s.nodes.total));
  setText('tasks-total', String(s.tasks.total));
  setText('content-total', String(s.content.total));
  document.title = `${s.cluster_id} · cluster-state`;
  setText('master', s.master_id ?? '–');
  setText('durable', s.durable_revision === null ? '–' : String(s.durable_revision));
  setText('replicated', s.replicated_revision === null ? '–' : String(s.replicated_revision));
  setText('nodes-online', num(s.nodes.active));
  setText('tasks-active', num(s.tasks.by_status.assigned + s.tasks.by_status.running));
  setText('content-size', size(s.content.total_size_gb * GiB));
  setText('res-cpu', num(s.resources.cpu_cores));
  setText('res-mem', `${num(s.resources.memory_gb.available)} of ${num(s.resources.memory_gb.total)} GiB memory free`);
  setText('res-gpu', `${num(s.resources.gpu_cores.available)} of ${num(s.resources.gpu_cores.total)} GPUs available`);
  setText('queue-pending', String(s.queue.pending));
  renderMatrix(s.nodes.by_role_status);
  tickAges();
}

/** @param {Record<string, Record<string, number>>} m */
function renderMatrix(m) {
  const table = /** @type {HTMLTableElement} */ ($('matrix'));
  const statuses = [...NODE_STATUSES];
  for (const row of Object.values(m)) for (const st of Object.keys(row)) if (!statuses.includes(st)) statuses.push(st);
  const head = el('tr');
  head.append(el('th', 'role'));
  for (const st of statuses) head.append(el('th', st, 'num'));
  head.append(el('th', 'total', 'num'));
  const rows = [];
  for (const [role, counts] of Object.entries(m)) {
    const tr = el('tr');
    tr.append(el('th', role));
    let total = 0;
    for (const st of statuses) {
      const n = counts[st] ?? 0;
      total += n;
      const td = el('td', undefined, n === 0 ? 'num zero' : 'num');
      const b = el('button', String(n));
      b.dataset.role = role;
      b.dataset.status = st;
      b.setAttribute('data-testid', `matrix-${role}-${st}`);
      b.title = `list ${role} nodes that are ${st}`;
      td.append(b);
      tr.append(td);
    }
    tr.append(el('td', String(total), 'num'));
    rows.push(tr);
  }
  table.tHead?.replaceChildren(head);
  table.tBodies[0]?.replaceChildren(...rows);
}

/** @param {any} h the server's ContentHealth, or null */
function renderHealth(h) {
  if (!h) return;
  setText('under-replicated', String(h.under_replicated));
  setText('shortfall', num(h.shortfall));
  setText('unavailable', num(h.unavailable));
  setText('orphaned', String(h.orphaned));
  setText('health-asof', `as of revision ${h.revision} (${h.items} CIDs scanned in ${Math.round(h.cost_ms)} ms)`);
}

/** The ages shown, recomputed every second (a handful of text nodes). */
function tickAges() {
  if (!summary) return;
  setText('age', ago(summary.updated_at));
  const o = summary.queue.oldest;
  setText('queue-oldest', o ? `${o.id} · ${o.created_at === null ? '–' : duration(serverNow() - o.created_at)}` : '–');
}
setInterval(tickAges, 1000);

// ───────────────────────────── chart ─────────────────────────────

/** uPlot's columns: time in seconds, then one array per status. */
/** @type {number[][]} */
let chartData = [[], ...STATUSES.map(() => [])];
let sampleMs = 1000;
let maxPoints = 600;
/** @type {uPlot | null} */
let plot = null;

function chartSize() {
  const box = $('chart');
  return { width: Math.max(300, box.clientWidth), height: 260 };
}

function makeChart() {
  const opts = {
    ...chartSize(),
    scales: { x: { time: true } },
    axes: [{}, { size: 60 }],
    legend: { live: false },
    series: [{}, ...STATUSES.map((s) => ({ label: s, stroke: /** @type {any} */ (COLORS)[s], width: 1.5, points: { show: false } }))],
  };
  plot = new uPlot(/** @type {any} */ (opts), /** @type {any} */ (chartData), $('chart'));
  new ResizeObserver(() => plot?.setSize(chartSize())).observe($('chart'));
}

/** @param {{ t: number[], counts: number[][] }} h */
function setHistory(h) {
  chartData = [h.t.slice(-maxPoints), ...h.counts.map((c) => c.slice(-maxPoints))];
  plot?.setData(/** @type {any} */ (chartData));
  spanText();
}

/** One sample: replaces the last point when it falls in the same sampling bucket, else appends. */
/** @param {{ t: number, counts: number[] }} s */
function addSample(s) {
  const t = s.t / 1000;
  const xs = chartData[0];
  const last = xs.length - 1;
  if (last >= 0 && Math.floor((xs[last] * 1000) / sampleMs) === Math.floor(s.t / sampleMs)) {
    xs[last] = t;
    for (let k = 0; k < STATUSES.length; k++) chartData[k + 1][last] = s.counts[k];
  } else {
    xs.push(t);
    for (let k = 0; k < STATUSES.length; k++) chartData[k + 1].push(s.counts[k]);
    if (xs.length > maxPoints) for (const col of chartData) col.splice(0, col.length - maxPoints);
  }
  plot?.setData(/** @type {any} */ (chartData));
  spanText();
}

function spanText() {
  const xs = chartData[0];
  setText('chart-span', xs.length > 1 ? `last ${duration((xs[xs.length - 1] - xs[0]) * 1000)}` : '');
}

// ───────────────────────────── feed ─────────────────────────────

/** @param {any} item a FeedItem */
function feedRow(item) {
  const li = el('li');
  li.setAttribute('data-testid', 'feed-item');
  li.dataset.revision = String(item.revision);
  const time = new Date(item.updatedAt).toISOString().slice(11, 23);
  if (item.gap) {
    li.className = 'gap';
    li.textContent = `… watch restarted at revision ${item.revision} (${time}): earlier change sets not shown`;
    return li;
  }
  li.append(el('span', `r${item.revision}`, 'rev'), ` ${time} `);
  const parts = [];
  for (const table of ['nodes', 'tasks', 'content']) {
    const c = item.counts[table];
    if (c.upserts || c.deletes) parts.push(`${table} ${c.upserts ? `~${c.upserts}` : ''}${c.deletes ? ` −${c.deletes}` : ''}`.trim());
  }
  const first = item.changes.map((/** @type {any} */ c) => (c.op === 'delete' ? `${c.id} removed` : c.status ? `${c.id} → ${c.status}` : c.id));
  li.append(parts.join(' · '), first.length ? ` — ${first.join(', ')}${item.more ? ` (+${item.more} more)` : ''}` : '');
  return li;
}

/** @param {any[]} items oldest first @param {number} [skipped] change sets before them that the server left out */
function addFeed(items, skipped = 0) {
  const list = $('feed');
  if (skipped > 0) {
    const li = el('li', `… ${fmt.format(skipped)} more change sets (not listed)`, 'gap');
    list.prepend(li);
  }
  for (const it of items.slice(-FEED_MAX)) list.prepend(feedRow(it));
  while (list.childElementCount > FEED_MAX) list.lastElementChild?.remove();
}

// ───────────────────────────── fetched views (one request in flight each) ─────────────────────────────

/**
 * A view that is re-fetched after updates: at most one request in flight; an update arriving
 * meanwhile causes exactly one more fetch when it ends.
 * @param {() => Promise<void>} load
 */
function singleFlight(load) {
  let running = false;
  let again = false;
  return async function refresh() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await load();
      } while (again);
    } finally {
      running = false;
    }
  };
}

/** @param {string} url */
async function getJson(url) {
  const res = await fetch(url, { cache: 'no-store' });
  const body = await res.json();
  if (!res.ok) throw new Error(body && body.error ? body.error : `${res.status} ${res.statusText}`);
  return body;
}

// The nodes table: filters, sort and keyset pages (a stack of the cursors that started each page).
const view = { sort: 'id', desc: false, role: '', status: '', capability: '', prefix: '', limit: 50, /** @type {(string | null)[]} */ pages: [null], /** @type {string | null} */ next: null };

function nodesUrl() {
  const p = new URLSearchParams();
  if (view.role) p.set('role', view.role);
  if (view.status) p.set('status', view.status);
  if (view.capability) p.set('capability', view.capability);
  if (view.prefix) p.set('prefix', view.prefix);
  p.set('sort', `${view.desc ? '-' : ''}${view.sort}`);
  p.set('select', NODE_FIELDS);
  p.set('limit', String(view.limit));
  const cursor = view.pages[view.pages.length - 1];
  if (cursor) p.set('cursor', cursor);
  return `/api/nodes?${p}`;
}

/** @param {number | null} fraction 0..1 @param {string} label */
function bar(fraction, label) {
  const td = el('td');
  if (fraction === null || !Number.isFinite(fraction)) {
    td.textContent = '–';
    return td;
  }
  const f = Math.min(1, Math.max(0, fraction));
  const outer = el('span', undefined, 'bar');
  const inner = el('i', undefined, f > 0.85 ? 'high' : f > 0.6 ? 'mid' : '');
  inner.style.width = `${(f * 100).toFixed(1)}%`;
  outer.append(inner);
  td.append(outer, label);
  return td;
}

/** @param {any} n a node record (the selected fields) */
function nodeRow(n) {
  const r = n.resources ?? {};
  const tr = el('tr');
  tr.setAttribute('data-testid', 'node-row');
  tr.dataset.id = n.id;
  tr.append(el('td', n.id, 'id'), el('td', n.role ?? '–'), el('td', n.status ?? '–', `st-${n.status}`), el('td', num(r.cpu_count), 'num'));
  tr.append(bar(r.cpu_load === null || r.cpu_load === undefined ? null : r.cpu_load / 100, r.cpu_load === null || r.cpu_load === undefined ? '' : `${Math.round(r.cpu_load)}%`));
  const total = r.memory_total;
  const avail = r.memory_available;
  const used = total && avail !== null && avail !== undefined ? (total - avail) / total : null;
  tr.append(bar(used, total ? `${((total - (avail ?? 0)) / GiB).toFixed(1)} / ${(total / GiB).toFixed(0)} GiB` : ''));
  tr.append(el('td', r.gpu_count ? `${r.gpu_count}${r.gpu_available === false ? ' busy' : ''}` : '–', 'num'));
  const caps = el('td', (n.capabilities ?? []).join(', ') || '–', 'caps');
  caps.title = (n.capabilities ?? []).join(', ');
  tr.append(caps, el('td', ago(n.last_seen)));
  return tr;
}

const refreshNodes = singleFlight(async () => {
  const err = $('nodes-error');
  let page;
  try {
    page = await getJson(nodesUrl());
  } catch (e) {
    err.hidden = false;
    err.textContent = `cannot list nodes: ${/** @type {Error} */ (e).message}`;
    return;
  }
  err.hidden = true;
  view.next = page.cursor;
  const first = (view.pages.length - 1) * view.limit;
  setText('nodes-matching', String(page.total));
  setText('page-info', page.items.length ? `rows ${fmt.format(first + 1)}–${fmt.format(first + page.items.length)} of ${fmt.format(page.total)}` : `no rows here (of ${fmt.format(page.total)})`);
  /** @type {HTMLButtonElement} */ ($('prev')).disabled = view.pages.length <= 1;
  /** @type {HTMLButtonElement} */ ($('next')).disabled = page.cursor === null;
  $('node-rows').replaceChildren(...page.items.map(nodeRow));
});

const refreshQueue = singleFlight(async () => {
  let page;
  try {
    page = await getJson('/api/tasks?status=pending&sort=created_at&limit=10&select=id,type,priority,created_at');
  } catch {
    return; // the queue's counts come with the summary; the list comes back with the next update
  }
  $('queue-rows').replaceChildren(...page.items.map((/** @type {any} */ t) => {
    const tr = el('tr');
    tr.append(el('td', t.id, 'id'), el('td', t.type ?? '–'), el('td', t.priority === null || t.priority === undefined ? '–' : String(t.priority), 'num'), el('td', t.created_at ? duration(serverNow() - t.created_at) : '–'));
    return tr;
  }));
});

/** Filters or sort changed: back to the first page. */
function resetPages() {
  view.pages = [null];
  void refreshNodes();
}

function wireControls() {
  const role = /** @type {HTMLSelectElement} */ ($('f-role'));
  const status = /** @type {HTMLSelectElement} */ ($('f-status'));
  const cap = /** @type {HTMLInputElement} */ ($('f-cap'));
  const prefix = /** @type {HTMLInputElement} */ ($('f-prefix'));
  const limit = /** @type {HTMLSelectElement} */ ($('f-limit'));
  role.addEventListener('change', () => { view.role = role.value; resetPages(); });
  status.addEventListener('change', () => { view.status = status.value; resetPages(); });
  limit.addEventListener('change', () => { view.limit = Number(limit.value); resetPages(); });
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let typing;
  const typed = () => {
    clearTimeout(typing);
    typing = setTimeout(() => { view.capability = cap.value.trim(); view.prefix = prefix.value; resetPages(); }, 250);
  };
  cap.addEventListener('input', typed);
  prefix.addEventListener('input', typed);
  $('filters').addEventListener('submit', (e) => e.preventDefault());
  for (const th of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('#nodes th[data-sort]'))) {
    th.tabIndex = 0;
    const sortBy = () => {
      const field = /** @type {string} */ (th.dataset.sort);
      view.desc = view.sort === field ? !view.desc : false;
      view.sort = field;
      for (const other of document.querySelectorAll('#nodes th[data-sort]')) other.removeAttribute('aria-sort');
      th.setAttribute('aria-sort', view.desc ? 'descending' : 'ascending');
      resetPages();
    };
    th.addEventListener('click', sortBy);
    th.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortBy(); } });
  }
  $('prev').addEventListener('click', () => {
    if (view.pages.length > 1) view.pages.pop();
    void refreshNodes();
  });
  $('next').addEventListener('click', () => {
    if (view.next) view.pages.push(view.next);
    void refreshNodes();
  });
  // A click on a role × status count lists those nodes.
  $('matrix').addEventListener('click', (e) => {
    const b = /** @type {HTMLElement} */ (e.target).closest('button');
    if (!b) return;
    view.role = role.value = b.dataset.role ?? '';
    view.status = status.value = b.dataset.status ?? '';
    resetPages();
  });
}

// ───────────────────────────── the event stream ─────────────────────────────

let lastRevision = -1;

/** @param {any} d */
function onSnapshot(d) {
  clockOffset = d.now - Date.now();
  sampleMs = d.sampleMs;
  maxPoints = Math.max(2, d.history.t.length, Math.round(600_000 / d.sampleMs));
  if (d.summary) renderSummary(d.summary);
  renderHealth(d.health);
  setHistory(d.history);
  $('feed').replaceChildren();
  addFeed(d.feed);
  lastRevision = d.summary ? d.summary.revision : -1;
  void refreshNodes();
  void refreshQueue();
}

/** @param {any} d */
function onUpdate(d) {
  clockOffset = d.now - Date.now();
  const moved = d.summary.revision !== lastRevision;
  lastRevision = d.summary.revision;
  renderSummary(d.summary);
  renderHealth(d.health);
  if (d.sample) addSample(d.sample);
  addFeed(d.feed, d.skipped);
  if (!moved) return;
  // Re-fetch a view only when the update may have changed it (a capped or empty feed: maybe).
  /** @param {'nodes' | 'tasks'} t */
  const touches = (t) => d.feed.length === 0 || d.feed.length >= FEED_MAX
    || d.feed.some((/** @type {any} */ i) => i.gap || i.counts[t].upserts + i.counts[t].deletes > 0);
  if (touches('nodes')) void refreshNodes();
  if (touches('tasks')) void refreshQueue();
}

function connect() {
  const live = $('live');
  const es = new EventSource('/events');
  es.addEventListener('snapshot', (e) => onSnapshot(JSON.parse(/** @type {MessageEvent} */ (e).data)));
  es.addEventListener('update', (e) => onUpdate(JSON.parse(/** @type {MessageEvent} */ (e).data)));
  es.addEventListener('open', () => {
    live.textContent = 'live';
    live.className = 'live on';
  });
  es.addEventListener('error', () => {
    live.textContent = es.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…';
    live.className = 'live off';
  });
}

makeChart();
wireControls();
connect();
