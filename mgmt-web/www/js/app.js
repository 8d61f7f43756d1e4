// Tandem web console: a single page over tandem-webd's REST API (doc/api.md,
// doc/console.md).  Views: #login, #dashboard, #sessions, #config.
import { get, post, qs, setCsrf, setUnauthorizedHandler, ApiError } from './api.js';
import { $, el, badge, setText, fmtInt, fmtBytes, fmtBits, fmtMs, fmtDuration } from './format.js';
import { Charts } from './charts.js';

const HISTORY_MS = 1500; // history poll (webd samples every 1 s)
const STATUS_MS = 2000; // status, nodes, VIPs, failover
const SESSIONS_MS = 3000; // session table, when auto-refresh is on
const HISTORY_KEEP_MS = 600_000; // samples kept for the charts (webd's history_s default)

const state = {
  user: null,
  role: null, // "admin" | "viewer"
  view: 'dashboard',
  nodes: [],
  sessOffset: 0,
  timers: {},
  generation: 0, // bumped at login/logout: stale poll loops stop
  charts: null,
  history: null, // {interval_ms, samples} held by the page
  config: null,
};

const isAdmin = () => state.role === 'admin';

// ------------------------------------------------------------ messages --

let flashTimer = 0;
function flash(msg, bad = false) {
  const f = $('flash');
  f.textContent = msg;
  f.classList.toggle('bad', bad);
  f.hidden = false;
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => { f.hidden = true; }, bad ? 10000 : 5000);
}

function showResult(id, text, good) {
  const r = $(id);
  r.textContent = text;
  r.classList.toggle('good', good === true);
  r.classList.toggle('bad', good === false);
  r.hidden = false;
}

// ------------------------------------------------------------ polling --

// poll(name, ms, fn): run fn now and then ms after each run ends, until
// stopPolls() or the next login/logout.
function poll(name, ms, fn) {
  const gen = state.generation;
  clearTimeout(state.timers[name]);
  const run = async () => {
    if (gen !== state.generation) return;
    try {
      await fn();
      setText('footer-status', 'updated ' + new Date().toLocaleTimeString());
    } catch (e) {
      if (gen !== state.generation) return;
      if (!(e instanceof ApiError && e.status === 401)) setText('footer-status', name + ': ' + e.message);
    }
    if (gen === state.generation) state.timers[name] = setTimeout(run, ms);
  };
  run();
}

function stopPolls() {
  state.generation++;
  for (const t of Object.values(state.timers)) clearTimeout(t);
  state.timers = {};
}

// ------------------------------------------------------------ session --

function setSession(s) {
  state.user = s.user;
  state.role = s.role;
  setCsrf(s.csrf);
  setText('whoami', s.user);
  setText('user-role', s.role);
  document.body.dataset.role = s.role;
  $('account').hidden = false;
  $('nav').hidden = false;
  for (const b of document.querySelectorAll('.admin-only')) {
    b.disabled = !isAdmin();
    b.title = isAdmin() ? '' : 'viewers can only look';
  }
}

function showLogin(message) {
  stopPolls();
  state.user = state.role = null;
  setCsrf('');
  delete document.body.dataset.role;
  $('account').hidden = true;
  $('nav').hidden = true;
  setText('footer-status', '');
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== 'view-login';
  const err = $('login-error');
  err.hidden = !message;
  err.textContent = message || '';
  $('login-password').value = '';
  $('login-user').focus();
}

function loginMessage(e) {
  switch (e.status) {
    case 401: return 'Wrong user name or password.';
    case 403: return 'Your account has no role on this appliance (' + e.message + '). Ask to be put in the admin or viewer group.';
    case 429: return 'Too many login attempts: wait' + (e.retryAfter ? ' ' + e.retryAfter + ' s' : ' a while') + ' and try again.';
    case 400: return 'Login refused: ' + e.message;
    default: return 'Login failed: ' + e.message;
  }
}

async function onLogin(ev) {
  ev.preventDefault();
  const btn = $('login-submit');
  btn.disabled = true;
  $('login-error').hidden = true;
  try {
    const s = await post('/login', { user: $('login-user').value.trim(), password: $('login-password').value }, { noAuthHandler: true });
    $('login-password').value = '';
    startApp(s);
  } catch (e) {
    const err = $('login-error');
    err.textContent = loginMessage(e);
    err.dataset.status = String(e.status || 0);
    err.hidden = false;
  } finally {
    btn.disabled = false;
  }
}

async function onLogout() {
  try {
    await post('/logout', undefined, { noAuthHandler: true });
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) flash('Logout: ' + e.message, true);
  }
  showLogin('');
  flash('Logged out.');
}

function startApp(s) {
  stopPolls();
  state.history = null;
  setSession(s);
  route();
}

// --------------------------------------------------------------- views --

function route() {
  if (!state.user) return;
  const want = (location.hash || '#dashboard').slice(1);
  const view = ['dashboard', 'sessions', 'config'].includes(want) ? want : 'dashboard';
  state.view = view;
  stopPolls();
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== 'view-' + view;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.id === 'nav-' + view);
  if (view === 'dashboard') {
    state.charts.resize();
    poll('history', HISTORY_MS, refreshHistory);
    poll('status', STATUS_MS, refreshStatus);
    poll('nodes', STATUS_MS, refreshNodes);
    poll('vips', STATUS_MS * 2, refreshVips);
    poll('cluster', STATUS_MS * 2, refreshCluster);
  } else if (view === 'sessions') {
    poll('nodes', STATUS_MS * 2, refreshNodes);
    poll('sessions', SESSIONS_MS, () => ($('sessions-auto').checked || !state.sessLoaded ? refreshSessions() : null));
  } else if (view === 'config') {
    if (!state.config) loadConfig();
  }
}

// ----------------------------------------------------------- dashboard --

// The first call fetches the whole history, later ones only the samples
// newer than the last one held (?since=); the page keeps the same window
// as webd (10 min by default).
async function refreshHistory() {
  const held = state.history;
  const since = held && held.samples.length ? held.samples[held.samples.length - 1].t : 0;
  const r = await get('/history' + (since ? qs({ since }) : ''));
  const fresh = Array.isArray(r.samples) ? r.samples : [];
  let h;
  if (!held || !since) {
    h = { interval_ms: r.interval_ms, samples: fresh.slice() };
  } else {
    h = held;
    h.interval_ms = r.interval_ms;
    for (const x of fresh) if (x.t > since) h.samples.push(x);
  }
  if (h.samples.length) {
    const newest = h.samples[h.samples.length - 1].t;
    const keep = HISTORY_KEEP_MS;
    let i = 0;
    while (i < h.samples.length && h.samples[i].t < newest - keep) i++;
    if (i) h.samples.splice(0, i);
  }
  state.history = h;
  const s = state.charts.render(h);
  const secs = s.samples.length > 1 ? Math.round((s.samples[s.samples.length - 1].t - s.samples[0].t) / 1000) : 0;
  setText('history-note', `${s.samples.length} samples over the last ${fmtDuration(secs)}, one every ${fmtMs(h.interval_ms)}. ` +
    'Throughput = byte counter differences between samples; flows = entries in the flow table.');
}

function roleClass(r, sync) {
  if (['master', 'backup', 'fault'].includes(r)) return r;
  return r === 'init' && !sync ? 'standalone' : 'unknown';
}

async function refreshStatus() {
  const [st, fo] = await Promise.all([get('/status'), get('/failover').catch(() => null)]);
  const lbd = st.lbd || {};
  const role = st.role || lbd.role || 'unknown';
  // lbd says "init" until tandem-failover's notify hook names a VRRP role:
  // on a single switch (no syncd) that is for good.
  const shown = role === 'init' && !st.sync ? 'standalone' : role;
  const roleEl = $('status-role');
  roleEl.replaceChildren(badge(shown, roleClass(role, st.sync)));
  roleEl.dataset.role = role;
  let foText = '';
  const vrrp = fo && fo.vrrp;
  if (vrrp && typeof vrrp === 'object') {
    const parts = [];
    if (vrrp.ready === true) parts.push('ready');
    else if (vrrp.ready === false) parts.push('not ready' + (vrrp.not_ready ? ': ' + vrrp.not_ready : ''));
    if (typeof vrrp.failovers === 'number') parts.push(vrrp.failovers + ' role change' + (vrrp.failovers === 1 ? '' : 's'));
    if (typeof vrrp.role_since === 'number') parts.push('since ' + new Date(vrrp.role_since).toLocaleTimeString());
    if (vrrp.peer && typeof vrrp.peer === 'object' && vrrp.peer.role) parts.push('peer ' + vrrp.peer.role);
    foText = parts.join(' · ');
    $('status-role').dataset.ready = String(vrrp.ready);
  }
  setText('status-failover', foText);
  renderGroups(lbd, st.sync);

  const sync = st.sync;
  const syncEl = $('sync-state');
  if (!sync) {
    syncEl.replaceChildren(badge('no peer', 'unknown'));
    syncEl.dataset.sync = 'none';
    setText('sync-detail', 'single switch (no tandem-syncd)');
  } else {
    const peer = sync.peer || {};
    const good = sync.synced && peer.alive;
    const label = sync.synced ? (peer.alive ? 'synced' : 'peer down') : 'not synced';
    syncEl.replaceChildren(badge(label, good ? 'ok' : 'fail'));
    syncEl.dataset.sync = label;
    const lag = sync.lag_ms || {};
    const bits = [];
    if (peer.address) bits.push('peer ' + peer.address + (peer.role ? ' (' + peer.role + ')' : ''));
    if (typeof lag.p99 === 'number') bits.push('lag p99 ' + lag.p99 + ' ms');
    if (sync.resyncs && typeof sync.resyncs.received === 'number') bits.push(sync.resyncs.received + ' resyncs in');
    setText('sync-detail', bits.join(' · '));
  }

  setText('nodes-up', `${fmtInt(lbd.nodes_up)} / ${fmtInt(lbd.nodes_total)}`);
  setText('lbd-detail', [lbd.attach && 'attach ' + lbd.attach, lbd.uptime_s !== undefined && 'up ' + fmtDuration(lbd.uptime_s),
    lbd.reloads !== undefined && lbd.reloads + ' reloads'].filter(Boolean).join(' · '));
  setText('flows-total', fmtInt(lbd.flows));
  setText('flows-detail', lbd.flow_table_size ? 'table size ' + fmtInt(lbd.flow_table_size) : '');
  const ho = lbd.handoffs || {};
  const rep = lbd.handoff_reports || {};
  setText('handoffs-total', typeof ho.ok === 'number' || typeof rep.handled === 'number' ? fmtInt((ho.ok || 0) + 0) : '–');
  setText('handoffs-detail', [typeof ho.requested === 'number' && `${ho.requested} requested, ${ho.failed || 0} failed`,
    typeof rep.handled === 'number' && `${rep.handled} node reports`].filter(Boolean).join(' · '));
}

// ------------------------------------------------ active-active groups --

// A DNS record of lbd's status "dns" as words: what this switch wants of it
// and whether the server took that ("published": true once an add was taken,
// false once a delete was, null before either).  "leave": the record is not
// this switch's to keep (its group's master publishes it).
function dnsRecordState(r) {
  if (r.want === 'publish') return r.published === true ? 'published' : 'pending';
  if (r.want === 'withdraw') return r.published === false ? 'withdrawn' : 'withdrawal pending';
  return 'left to the peer';
}

// Who holds a group: this switch while its role is master; the peer while
// this one is backup and syncd sees the peer alive (a pair has two
// switches); otherwise nobody this switch knows of.
function groupMaster(g, sync) {
  const id = sync && typeof sync.switch_id === 'number' ? ` (switch ${sync.switch_id})` : '';
  const peer = sync && sync.peer;
  if (g.role === 'master') return { who: 'here', text: 'this switch' + id };
  if (g.role === 'backup' && peer && peer.alive) return { who: 'peer', text: 'peer' + (peer.address ? ' ' + peer.address : '') };
  return { who: 'none', text: '–' };
}

// The Groups table and the role card's summary lines, from lbd's status
// "groups" (one per VRRP group: role here, preferred switch, VIP names) and
// "dns" (one record per VIP of dns.vips).  Active-standby: no groups.
function renderGroups(lbd, sync) {
  const groups = Array.isArray(lbd.groups) ? lbd.groups : [];
  const dns = lbd.dns && Array.isArray(lbd.dns.records) ? lbd.dns : null;
  setText('status-groups', groups.map(g => `${g.name}: ${g.role}` +
    (g.preferred_here ? ' (preferred here)' : ` (preferred: switch ${g.preferred})`)).join(' · '));
  setText('status-dns', dns ? `${dns.name}: ` + (dns.records.filter(r => r.want !== 'leave')
    .map(r => `${r.address} ${dnsRecordState(r)}`).join(', ') || 'none of ours') +
    (dns.updates && dns.updates.failed ? ` · ${dns.updates.failed} failed update(s)` : '') : '');
  setText('groups-summary', dns ? `(${dns.name} at ${dns.server}, TTL ${dns.ttl} s)` : '');
  const rows = groups.map((g) => {
    const vips = Array.isArray(g.vips) ? g.vips : [];
    const recs = dns ? dns.records.filter(r => vips.includes(r.vip)) : [];
    const m = groupMaster(g, sync);
    const cell = (field, ...c) => el('td', { dataset: { field } }, ...c);
    return el('tr', { dataset: { group: g.name, role: g.role, master: m.who } },
      cell('name', g.name), cell('vips', vips.join(' ')),
      cell('preferred', `switch ${g.preferred}` + (g.preferred_here ? ' (this one)' : '')),
      cell('state', badge(g.role || 'unknown', roleClass(g.role, true))), cell('master', m.text),
      cell('dns', recs.map(r => `${r.address} ${dnsRecordState(r)}`).join(', ') || '–'));
  });
  if (!rows.length) rows.push(el('tr', {}, el('td', { class: 'empty', colspan: 6 }, 'no VRRP groups (active-standby)')));
  $('groups-body').replaceChildren(...rows);
}

function setSelectOptions(select, names, withAny) {
  const cur = select.value;
  const want = (withAny ? [''] : []).concat(names);
  const have = [...select.options].map((o) => o.value);
  if (want.join('\n') !== have.join('\n')) {
    select.replaceChildren(...want.map((n) => el('option', { value: n }, n === '' ? 'any' : n)));
    if (want.includes(cur)) select.value = cur;
  }
}

// The node's checks, then the NFS export policy its tandem-nasd enforces
// (lbd's nodes "policy", from the node's load reports; doc/directory.md).
function healthCell(h, pol) {
  const td = el('td', { dataset: { field: 'health' } });
  if (!Array.isArray(h) || h.length === 0) {
    td.append(el('span', { class: 'muted' }, 'no checks'));
  } else {
    for (const c of h) {
      const b = badge(c.service || 'check', c.ok ? 'ok' : 'fail');
      b.title = c.ok ? `ok (rise ${c.rise_count ?? '?'})` : `failing (fall ${c.fall_count ?? '?'}): ${c.last_error || ''}`;
      td.append(b, ' ');
    }
  }
  if (pol && pol.version) {
    const bad = pol.stale || pol.mismatch;
    const b = badge(`policy ${pol.version.slice(0, 8)}${pol.stale ? ' stale' : ''}${pol.mismatch ? ' mismatch' : ''}`,
      bad ? 'fail' : 'ok');
    b.dataset.field = 'policy';
    b.title = `NFS export policy version ${pol.version}` +
      (pol.stale ? ': STALE, its directory replica cannot be read or has lost its providers (the last policy read stays in force)' : '') +
      (pol.mismatch ? `; MISMATCH, the cluster enforces ${pol.cluster_version || '?'}` : '');
    td.append(b);
  }
  return td;
}

const NODE_COLS = ['name', 'address', 'state', 'drain', 'link', 'weight', 'flows', 'packets', 'bytes', 'new_flows', 'handoffs_in', 'handoffs_out', 'health', 'action'];

function nodeRow(n) {
  const tr = el('tr', { dataset: { node: n.name } });
  for (const c of NODE_COLS) {
    const numeric = ['weight', 'flows', 'packets', 'bytes', 'new_flows', 'handoffs_in', 'handoffs_out'].includes(c);
    tr.append(el('td', { class: numeric ? 'num' : null, dataset: { field: c } }));
  }
  const btn = el('button', { type: 'button', class: 'drain-btn' });
  btn.addEventListener('click', () => onDrainClick(n.name, btn));
  tr.querySelector('[data-field=action]').append(btn);
  return tr;
}

function fillNodeRow(tr, n) {
  const cell = (f) => tr.querySelector(`[data-field=${f}]`);
  const text = (f, v) => { const c = cell(f); if (c.textContent !== v) c.textContent = v; };
  tr.dataset.state = n.state;
  tr.dataset.drain = String(!!n.drain);
  text('name', n.name);
  text('address', n.address || '');
  cell('state').replaceChildren(badge(n.state || 'unknown', n.state === 'up' ? 'up' : n.state === 'down' ? 'down' : 'unknown'));
  cell('drain').replaceChildren(n.drain ? badge('drained', 'drained') : el('span', { class: 'muted' }, 'no'));
  cell('link').replaceChildren(n.link ? badge(n.link, n.link === 'up' ? 'up' : 'down') : el('span', { class: 'muted' }, '–'));
  text('weight', fmtInt(n.weight));
  text('flows', fmtInt(n.flows));
  text('packets', fmtInt(n.packets));
  const b = cell('bytes');
  text('bytes', fmtBytes(n.bytes));
  b.title = fmtInt(n.bytes) + ' bytes';
  text('new_flows', fmtInt(n.new_flows));
  text('handoffs_in', fmtInt(n.handoffs_in));
  text('handoffs_out', fmtInt(n.handoffs_out));
  cell('health').replaceWith(healthCell(n.health, n.policy));
  const btn = tr.querySelector('button.drain-btn');
  if (btn.dataset.busy !== '1') {
    const action = n.drain ? 'undrain' : 'drain';
    btn.dataset.action = action;
    btn.dataset.testid = action + '-' + n.name;
    btn.id = action + '-' + n.name;
    btn.textContent = n.drain ? 'Undrain' : 'Drain';
    btn.disabled = !isAdmin();
    btn.title = isAdmin() ? (n.drain ? 'take new sessions again' : 'stop sending new sessions to ' + n.name) : 'viewers can only look';
  }
}

function renderNodes(nodes) {
  const body = $('nodes-body');
  const rows = new Map([...body.querySelectorAll('tr[data-node]')].map((r) => [r.dataset.node, r]));
  const keep = new Set();
  for (const n of nodes) {
    let tr = rows.get(n.name);
    if (!tr) {
      tr = nodeRow(n);
      body.append(tr);
    }
    fillNodeRow(tr, n);
    keep.add(n.name);
  }
  for (const [name, tr] of rows) if (!keep.has(name)) tr.remove();
  const empty = body.querySelector('tr.empty-row');
  if (nodes.length === 0 && !empty) body.append(el('tr', { class: 'empty-row' }, el('td', { class: 'empty', colspan: NODE_COLS.length }, 'no nodes')));
  if (nodes.length && empty) empty.remove();
  body.dataset.loaded = '1';
}

async function refreshNodes() {
  const r = await get('/nodes');
  state.nodes = Array.isArray(r.nodes) ? r.nodes : [];
  renderNodes(state.nodes);
  const names = state.nodes.map((n) => n.name);
  setSelectOptions($('filter-node'), names, true);
  setSelectOptions($('migrate-from'), names, false);
  const fresh = $('migrate-node-to').options.length === 0;
  setSelectOptions($('migrate-node-to'), names, false);
  if (fresh && names.length > 1) $('migrate-node-to').value = names[1];
  setSelectOptions($('flow-to'), names, false);
}

async function onDrainClick(name, btn) {
  if (!isAdmin()) return;
  const action = btn.dataset.action;
  btn.dataset.busy = '1';
  btn.disabled = true;
  try {
    const r = await post(`/nodes/${encodeURIComponent(name)}/${action}`);
    flash(`${name}: ${r && r.drain === true ? 'drained: no new sessions go to it' : r && r.drain === false ? 'undrained: takes new sessions again' : action + ' done'}`);
  } catch (e) {
    flash(`${action} ${name} refused: ${e.message}`, true);
  } finally {
    delete btn.dataset.busy;
  }
  await Promise.all([refreshNodes(), refreshVips()]).catch(() => {});
}

async function refreshVips() {
  const r = await get('/vips');
  const body = $('vips-body');
  const rows = [];
  for (const v of r.vips || []) {
    const svcs = v.services && v.services.length ? v.services : [{}];
    for (const s of svcs) {
      rows.push(el('tr', { dataset: { vip: v.name } },
        el('td', {}, v.name || ''), el('td', {}, v.address || ''),
        el('td', {}, s.proto ? `${s.proto}/${s.port}` : '–'),
        el('td', { class: 'num' }, fmtInt(s.nodes_in_table)), el('td', { class: 'num' }, fmtInt(s.packets)),
        el('td', { class: 'num' }, fmtBytes(s.bytes)), el('td', { class: 'num' }, fmtInt(s.new_flows))));
    }
  }
  if (!rows.length) rows.push(el('tr', {}, el('td', { class: 'empty', colspan: 7 }, 'no VIPs')));
  body.replaceChildren(...rows);
}

// The NFS namespace (GET /api/v1/cluster: lbd's cluster map): one row per
// top-level directory with its home node, and whether that node holds the
// current generation of the map.
async function refreshCluster() {
  const r = await get('/cluster');
  const body = $('cluster-body');
  if (!r.enabled) {
    $('cluster-summary').textContent = '';
    body.replaceChildren(el('tr', {}, el('td', { class: 'empty', colspan: 4 }, r.reason || 'no NFS namespace')));
    return;
  }
  $('cluster-summary').textContent = `(${r.export}, generation ${r.generation})`;
  const byName = {};
  for (const n of r.nodes || []) byName[n.name] = n;
  const rows = (r.homes || []).map((h) => {
    const n = byName[h.node] || {};
    return el('tr', { dataset: { dir: h.dir } },
      el('td', {}, h.dir), el('td', {}, h.node), el('td', { class: 'num' }, fmtInt(h.nfs_id)),
      el('td', {}, n.current ? 'yes' : (n.ack_status ? `no (${n.ack_status})` : 'no answer')));
  });
  if (!rows.length) rows.push(el('tr', {}, el('td', { class: 'empty', colspan: 4 }, 'no directories')));
  body.replaceChildren(...rows);
}

// ------------------------------------------------------------ sessions --

function sessionFilters() {
  return {
    vip: $('filter-vip').value.trim(),
    node: $('filter-node').value,
    client: $('filter-client').value.trim(),
    proto: $('filter-proto').value,
    limit: Number($('filter-limit').value) || 50,
  };
}

async function refreshSessions() {
  const f = sessionFilters();
  const r = await get('/sessions' + qs({ ...f, offset: state.sessOffset }));
  state.sessLoaded = true;
  const list = Array.isArray(r.sessions) ? r.sessions : [];
  const total = typeof r.total === 'number' ? r.total : list.length;
  const offset = typeof r.offset === 'number' ? r.offset : state.sessOffset;
  const limit = typeof r.limit === 'number' && r.limit > 0 ? r.limit : f.limit;
  if (offset >= total && total > 0 && state.sessOffset > 0) {
    // the table shrank under us: go to its last page
    state.sessOffset = Math.max(0, Math.floor((total - 1) / limit) * limit);
    return refreshSessions();
  }
  setText('sessions-range', total === 0 ? 'no sessions' : `${fmtInt(offset + 1)}–${fmtInt(offset + list.length)} of ${fmtInt(total)}`);
  $('sessions-range').dataset.total = String(total);
  $('sessions-prev').disabled = offset <= 0;
  $('sessions-next').disabled = offset + list.length >= total;
  const rows = list.map((s) => {
    const tr = el('tr', { dataset: { client: `${s.client}:${s.client_port}`, node: s.node } },
      el('td', {}, fmtEndpoint(s.client, s.client_port)),
      el('td', {}, fmtEndpoint(s.vip, s.port)),
      el('td', {}, s.proto || ''),
      el('td', {}, s.node || '–'),
      el('td', { class: 'num' }, fmtInt(s.packets)),
      el('td', { class: 'num' }, fmtBytes(s.bytes)),
      el('td', { class: 'num' }, fmtMs(s.age_ms)));
    const mv = el('button', { type: 'button', disabled: !isAdmin(), title: isAdmin() ? 'fill the one-flow form below' : 'viewers can only look' }, 'Move…');
    mv.addEventListener('click', () => fillFlowForm(s));
    tr.append(el('td', {}, mv));
    return tr;
  });
  if (!rows.length) rows.push(el('tr', {}, el('td', { class: 'empty', colspan: 8 }, 'no sessions match')));
  $('sessions-body').replaceChildren(...rows);
}

function fmtEndpoint(addr, port) {
  if (!addr) return '–';
  return (String(addr).includes(':') ? `[${addr}]` : addr) + (port !== undefined ? ':' + port : '');
}

function fillFlowForm(s) {
  $('flow-client').value = s.client;
  $('flow-client-port').value = s.client_port;
  $('flow-vip').value = s.vip;
  $('flow-port').value = s.port;
  $('flow-proto').value = s.proto === 'udp' ? 'udp' : 'tcp';
  const other = state.nodes.map((n) => n.name).find((n) => n !== s.node);
  if (other) $('flow-to').value = other;
  $('flow-client').scrollIntoView({ block: 'center' });
}

async function onMigrateNode(ev) {
  ev.preventDefault();
  const from = $('migrate-from').value;
  const to = $('migrate-node-to').value;
  if (!from || !to || from === to) {
    showResult('actions-result', 'Pick two different nodes.', false);
    return;
  }
  try {
    const r = await post('/migrate', { node: from, to });
    showResult('actions-result', `Migrated ${fmtInt(r.moved)} flow(s) from ${from} to ${to}.`, true);
  } catch (e) {
    showResult('actions-result', `Migrate refused: ${e.message}`, false);
  }
  refreshSessions().catch(() => {});
}

async function onFlowAction(ev) {
  ev.preventDefault();
  const kind = ev.submitter && ev.submitter.value === 'handoff' ? 'handoff' : 'migrate';
  const flow = {
    client: $('flow-client').value.trim(),
    client_port: Number($('flow-client-port').value),
    vip: $('flow-vip').value.trim(),
    port: Number($('flow-port').value),
    proto: $('flow-proto').value,
  };
  const to = $('flow-to').value;
  if (!Number.isInteger(flow.client_port) || !Number.isInteger(flow.port)) {
    showResult('actions-result', 'Ports must be numbers.', false);
    return;
  }
  showResult('actions-result', kind === 'handoff' ? 'Handing the session off…' : 'Migrating…');
  try {
    const r = await post('/' + kind, { flow, to });
    // lbd moves a migrated TCP session live when its node runs tandem-nasd:
    // then the answer is a handoff's
    const live = kind === 'handoff' || r.elapsed_ms !== undefined;
    const msg = live
      ? `Handed off from ${r.from} to ${r.to} in ${r.elapsed_ms} ms (the switch now sends it to ${r.owner}).`
      : (r.moved ? `Flow re-pointed to ${to}.` : 'No flow moved.');
    showResult('actions-result', msg, live || r.moved > 0);
  } catch (e) {
    showResult('actions-result', `${kind === 'handoff' ? 'Handoff' : 'Migrate'} refused: ${e.message}`, false);
  }
  refreshSessions().catch(() => {});
}

// -------------------------------------------------------------- config --

// GET /api/v1/config answers with the configuration file's content itself.
function configText(r) {
  return JSON.stringify(r, null, 2);
}

async function loadConfig() {
  try {
    const r = await get('/config');
    state.config = r;
    $('config-text').value = configText(r);
    setText('config-meta', ['read from the switch at ' + new Date().toLocaleTimeString(),
      isAdmin() ? 'edit, then Validate and Apply (Apply writes the file and makes lbd reload it)'
        : 'viewers may validate an edited copy but not apply it'].filter(Boolean).join(' · '));
    $('config-result').hidden = true;
  } catch (e) {
    showResult('config-result', 'Cannot read the configuration: ' + e.message, false);
  }
}

// the editor's text, checked to be JSON, is the body (a whole configuration)
function configBody() {
  try {
    JSON.parse($('config-text').value);
    return $('config-text').value;
  } catch (e) {
    showResult('config-result', 'Not valid JSON: ' + e.message, false);
    return null;
  }
}

async function onConfig(kind) {
  const body = configBody();
  if (!body) return;
  const btn = $('config-' + kind);
  btn.disabled = true;
  try {
    const r = await post('/config/' + kind, body);
    const msg = kind === 'apply'
      ? 'Applied: the file is written and lbd reloaded it' + (r && r.reload && typeof r.reload.reloads === 'number' ? ` (reload #${r.reload.reloads}).` : '.')
      : 'Valid: lbd would accept this configuration.';
    showResult('config-result', msg, true);
    if (kind === 'apply') state.config = null;
  } catch (e) {
    showResult('config-result', (kind === 'apply' ? 'Not applied: ' : 'Invalid: ') + e.message, false);
  } finally {
    btn.disabled = kind === 'apply' && !isAdmin();
  }
}

// ---------------------------------------------------------------- boot --

function bind() {
  $('login-form').addEventListener('submit', onLogin);
  $('logout').addEventListener('click', onLogout);
  window.addEventListener('hashchange', route);
  $('sessions-filter').addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.sessOffset = 0;
    refreshSessions().catch((e) => flash('Sessions: ' + e.message, true));
  });
  $('sessions-prev').addEventListener('click', () => {
    state.sessOffset = Math.max(0, state.sessOffset - sessionFilters().limit);
    refreshSessions().catch((e) => flash('Sessions: ' + e.message, true));
  });
  $('sessions-next').addEventListener('click', () => {
    state.sessOffset += sessionFilters().limit;
    refreshSessions().catch((e) => flash('Sessions: ' + e.message, true));
  });
  $('migrate-node-form').addEventListener('submit', onMigrateNode);
  $('flow-form').addEventListener('submit', onFlowAction);
  $('config-reload').addEventListener('click', loadConfig);
  $('config-validate').addEventListener('click', () => onConfig('validate'));
  $('config-apply').addEventListener('click', () => onConfig('apply'));
  setUnauthorizedHandler(() => {
    if (state.user) showLogin('Your session has ended: sign in again.');
  });
}

async function boot() {
  state.charts = new Charts({ throughput: 'chart-throughput', flows: 'chart-flows', events: 'chart-events' });
  bind();
  try {
    const s = await get('/session', { noAuthHandler: true });
    startApp(s);
  } catch (e) {
    showLogin(e instanceof ApiError && e.status === 401 ? '' : 'Cannot reach the appliance: ' + e.message);
  }
  document.body.dataset.ready = '1';
}

boot();

// for the console in a developer's browser
window.tandemConsole = { state, fmtBits };
