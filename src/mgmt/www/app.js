// Warren's management UI: a small single-page app over the HTTP API (/api), with uPlot charts.
// Lists are paged on the server (page, page_size, name), so it stays fast with many thousands of objects.
'use strict';

const main = document.getElementById('main');
const REFRESH_MS = 5000;
let auth = sessionStorage.getItem('warren-auth');
let timer;
let charts = [];
/** The periodic refresh waits this long after the last keystroke or click in the page. */
const INTERACTION_QUIET_MS = 15000;
let lastInteractionMs = 0;
for (const type of ['input', 'focusin', 'change']) main.addEventListener(type, () => (lastInteractionMs = Date.now()));

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const enc = encodeURIComponent;
const fmt = (n) => (typeof n === 'number' ? (Number.isInteger(n) ? n.toLocaleString('en') : n.toFixed(1)) : n === undefined || n === null ? '' : String(n));
const rate = (stats, key) => fmt(stats?.[`${key}_details`]?.rate ?? 0);
const bytes = (n) => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

class ApiError extends Error {
  constructor(status, body) {
    super(body?.reason ?? `HTTP ${status}`);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { authorization: `Basic ${auth}`, 'x-warren-ui': '1' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (res.status === 401 && path !== '/whoami') {
    logout();
    throw new ApiError(401, json);
  }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

function flash(text, ok = true) {
  const el = document.getElementById('flash');
  if (el) el.innerHTML = `<div class="msg ${ok ? 'ok' : 'err'}">${esc(text)}</div>`;
}

function table(columns, rows, rowAttrs = () => '') {
  return `<table><thead><tr>${columns.map((c) => `<th class="${c.num ? 'num' : ''}">${esc(c.title)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr ${rowAttrs(r)}>${columns.map((c) => `<td class="${c.num ? 'num' : ''}">${c.html ? c.html(r) : esc(fmt(c.value(r)))}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function formData(form) {
  return Object.fromEntries(new FormData(form).entries());
}

// ---- login ----

function showLogin(message) {
  document.getElementById('top').hidden = true;
  main.innerHTML = `<form id="login"><h1>Warren Management</h1>${message ? `<div class="msg err">${esc(message)}</div>` : ''}
    <label>Username <input name="username" autocomplete="username" required></label>
    <label>Password <input name="password" type="password" autocomplete="current-password"></label>
    <button type="submit">Login</button></form>`;
  document.getElementById('login').addEventListener('submit', async (e) => {
    e.preventDefault();
    const { username, password } = formData(e.target);
    auth = btoa(unescape(encodeURIComponent(`${username}:${password}`)));
    try {
      const me = await api('GET', '/whoami');
      sessionStorage.setItem('warren-auth', auth);
      document.getElementById('who').textContent = `User: ${me.name}`;
      route();
    } catch (err) {
      auth = null;
      showLogin(err.status === 401 ? 'Login failed' : err.message);
    }
  });
}

function logout() {
  sessionStorage.removeItem('warren-auth');
  auth = null;
  clearInterval(timer);
  showLogin();
}
document.getElementById('logout').addEventListener('click', logout);

// ---- charts ----

/** A uPlot line chart of series [{label, stroke}] over points [[t...], [y...], ...]. */
function chart(el, title, series, data) {
  const opts = {
    title,
    width: 560,
    height: 220,
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2 }))],
    axes: [{}, { size: 60 }],
  };
  const plot = new uPlot(opts, data, el);
  charts.push(plot);
  return plot;
}

/** Rates per second from RabbitMQ's cumulative samples (newest first). */
function ratePoints(samples) {
  const asc = [...(samples ?? [])].reverse();
  const t = [];
  const y = [];
  for (let i = 1; i < asc.length; i++) {
    const dt = (asc[i].timestamp - asc[i - 1].timestamp) / 1000;
    t.push(asc[i].timestamp / 1000);
    y.push(dt > 0 ? Math.max(0, (asc[i].sample - asc[i - 1].sample) / dt) : 0);
  }
  return [t, y];
}

function alignSeries(list) {
  const t = list[0][0];
  return [t, ...list.map(([, y]) => y.slice(-t.length))];
}

// ---- pages ----

async function overview() {
  const age = 600;
  const [o, nodes] = await Promise.all([api('GET', `/overview?msg_rates_age=${age}&msg_rates_incr=5&lengths_age=${age}&lengths_incr=5`), api('GET', '/nodes').catch(() => [])]);
  const t = o.object_totals;
  const q = o.queue_totals;
  main.innerHTML = `<h1>Overview <small>${esc(o.cluster_name)}</small></h1>
    <div class="totals">
      ${['connections', 'channels', 'exchanges', 'queues', 'consumers'].map((k) => `<div id="total-${k}">${esc(k)}<b>${fmt(t[k])}</b></div>`).join('')}
      <div>Ready<b id="total-ready">${fmt(q.messages_ready)}</b></div><div>Unacked<b>${fmt(q.messages_unacknowledged)}</b></div>
      <div>Publish<b id="rate-publish">${rate(o.message_stats, 'publish')}/s</b></div><div>Deliver/get<b>${rate(o.message_stats, 'deliver_get')}/s</b></div>
    </div>
    <h2>Charts (last 10 minutes)</h2><div class="charts"><div id="c-queued"></div><div id="c-rates"></div></div>
    <h2>Nodes</h2>${table(
      [
        { title: 'Name', html: (n) => `<a href="#/nodes/${enc(n.name)}">${esc(n.name)}</a>` },
        { title: 'Memory', html: (n) => `${bytes(n.mem_used)} / ${bytes(n.mem_limit)}${n.mem_alarm ? ' <span class="alarm">alarm</span>' : ''}` },
        { title: 'Disk free', html: (n) => `${bytes(n.disk_free)}${n.disk_free_alarm ? ' <span class="alarm">alarm</span>' : ''}` },
        { title: 'File descriptors', value: (n) => `${n.fd_used} / ${n.fd_total}` },
        { title: 'Uptime', value: (n) => `${Math.floor(n.uptime / 3600000)}h ${Math.floor((n.uptime % 3600000) / 60000)}m` },
        { title: 'Runtime', value: (n) => n.runtime },
      ],
      nodes,
    )}
    <h2>Listeners</h2>${table([{ title: 'Protocol', value: (l) => l.protocol }, { title: 'Address', value: (l) => l.ip_address }, { title: 'Port', value: (l) => String(l.port) }], o.listeners)}`;
  const lengths = ['messages_ready', 'messages_unacknowledged'].map((k) => {
    const s = [...(q[`${k}_details`]?.samples ?? [])].reverse();
    return [s.map((p) => p.timestamp / 1000), s.map((p) => p.sample)];
  });
  if (lengths[0][0].length > 0) chart(document.getElementById('c-queued'), 'Queued messages', [{ label: 'Ready', stroke: '#e0a030' }, { label: 'Unacked', stroke: '#4f5d75' }], alignSeries(lengths));
  const keys = [['publish', '#e0a030'], ['confirm', '#5aa05a'], ['deliver_get', '#4f5d75'], ['ack', '#b23a48']];
  const rates = keys.map(([k]) => ratePoints(o.message_stats[`${k}_details`]?.samples));
  if (rates[0][0].length > 0) chart(document.getElementById('c-rates'), 'Message rates /s', keys.map(([k, c]) => ({ label: k, stroke: c })), alignSeries(rates));
}

/** A server-side paged list: page, page_size, name filter; render(rows) gives the table. */
async function pagedList(title, path, columns, extra = '') {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const page = Number(params.get('page') ?? 1);
  const name = params.get('name') ?? '';
  const pageSize = Number(params.get('page_size') ?? 100);
  const res = await api('GET', `${path}?page=${page}&page_size=${pageSize}&name=${enc(name)}&use_regex=false`);
  const base = location.hash.split('?')[0];
  const link = (p) => `${base}?page=${p}&page_size=${pageSize}&name=${enc(name)}`;
  main.innerHTML = `<h1>${esc(title)}</h1><div id="flash"></div>
    <form class="inline" id="filter"><label>Filter <input name="name" value="${esc(name)}"></label><button>Filter</button></form>
    <div class="pager">Page ${res.page} of ${Math.max(res.page_count, 1)} (${res.filtered_count} of ${res.total_count})
      ${res.page > 1 ? `<a href="${link(res.page - 1)}">&laquo; previous</a>` : ''} ${res.page < res.page_count ? `<a href="${link(res.page + 1)}">next &raquo;</a>` : ''}</div>
    ${table(columns, res.items)}${extra}`;
  document.getElementById('filter').addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `${base}?page=1&page_size=${pageSize}&name=${enc(formData(e.target).name)}`;
  });
}

const connectionColumns = [
  { title: 'Name', html: (c) => `<a href="#/connections/${enc(c.name)}">${esc(c.name)}</a>` },
  { title: 'User', value: (c) => c.user },
  { title: 'Vhost', value: (c) => c.vhost },
  { title: 'State', value: (c) => c.state },
  { title: 'Protocol', value: (c) => c.protocol },
  { title: 'Channels', value: (c) => c.channels, num: true },
  { title: 'Client', value: (c) => c.client_properties?.product },
  { title: 'From client', value: (c) => bytes(c.recv_oct), num: true },
  { title: 'To client', value: (c) => bytes(c.send_oct), num: true },
  { title: '', html: (c) => `<button class="danger" data-close="${esc(c.name)}">Close</button>` },
];

async function connections() {
  await pagedList('Connections', '/connections', connectionColumns);
  main.querySelectorAll('[data-close]').forEach((b) =>
    b.addEventListener('click', async () => {
      await api('DELETE', `/connections/${enc(b.dataset.close)}`);
      route();
    }),
  );
}

async function channels() {
  await pagedList('Channels', '/channels', [
    { title: 'Channel', html: (c) => `<a href="#/channels/${enc(c.name)}">${esc(c.name)}</a>` },
    { title: 'User', value: (c) => c.user },
    { title: 'Mode', value: (c) => [c.confirm ? 'C' : '', c.transactional ? 'T' : ''].join('') },
    { title: 'State', value: (c) => c.state },
    { title: 'Consumers', value: (c) => c.consumer_count, num: true },
    { title: 'Prefetch', value: (c) => c.prefetch_count, num: true },
    { title: 'Unacked', value: (c) => c.messages_unacknowledged, num: true },
    { title: 'Publish /s', value: (c) => rate(c.message_stats, 'publish'), num: true },
    { title: 'Deliver /s', value: (c) => rate(c.message_stats, 'deliver_get'), num: true },
    { title: 'Ack /s', value: (c) => rate(c.message_stats, 'ack'), num: true },
  ]);
}

const MESSAGE_RATE_KEYS = [['publish', 'publish', '#e0a030'], ['confirm', 'confirm', '#5aa05a'], ['deliver_get', 'deliver/get', '#4f5d75'], ['ack', 'ack', '#b23a48']];

async function connection(name) {
  const c = await api('GET', `/connections/${enc(name)}?${HISTORY}`);
  const chans = await api('GET', `/connections/${enc(name)}/channels`).catch(() => []);
  main.innerHTML = `<h1>Connection: ${esc(c.name)}</h1><div id="flash"></div>
    <div class="totals"><div>From client<b id="conn-recv-rate">${bytes(c.recv_oct_details?.rate ?? 0)}/s</b></div><div>To client<b>${bytes(c.send_oct_details?.rate ?? 0)}/s</b></div>
      <div>Received<b>${bytes(c.recv_oct)}</b></div><div>Sent<b>${bytes(c.send_oct)}</b></div><div>Channels<b>${fmt(c.channels)}</b></div></div>
    <div class="box">User: ${esc(c.user)} · vhost: ${esc(c.vhost ?? '')} · protocol: ${esc(c.protocol)} · state: ${esc(c.state)} · node: ${esc(c.node)}
      · client: ${esc(c.client_properties?.product ?? '')} ${esc(c.client_properties?.version ?? '')} · heartbeat: ${esc(String(c.timeout ?? ''))} s · frame max: ${esc(String(c.frame_max))}</div>
    <h2>Data rates (last 10 minutes)</h2><div class="charts"><div id="c-connection"></div></div>
    <h2>Channels</h2>${table([{ title: 'Channel', html: (ch) => `<a href="#/channels/${enc(ch.name)}">${esc(ch.name)}</a>` }, { title: 'State', value: (ch) => ch.state }, { title: 'Consumers', value: (ch) => ch.consumer_count, num: true }, { title: 'Publish /s', value: (ch) => rate(ch.message_stats, 'publish'), num: true }], Array.isArray(chans) ? chans : chans.items ?? [])}
    <h2>Close this connection</h2><button class="danger" id="close">Force Close</button>`;
  ratesChart(document.getElementById('c-connection'), 'Bytes /s', c, [['recv_oct', 'from client', '#e0a030'], ['send_oct', 'to client', '#4f5d75']]);
  document.getElementById('close').addEventListener('click', async () => {
    await api('DELETE', `/connections/${enc(name)}`);
    location.hash = '#/connections';
  });
}

async function channel(name) {
  const ch = await api('GET', `/channels/${enc(name)}?${HISTORY}`);
  main.innerHTML = `<h1>Channel: ${esc(ch.name)}</h1>
    <div class="totals"><div>Publish<b id="ch-rate">${rate(ch.message_stats, 'publish')}/s</b></div><div>Confirm<b>${rate(ch.message_stats, 'confirm')}/s</b></div>
      <div>Deliver/get<b>${rate(ch.message_stats, 'deliver_get')}/s</b></div><div>Ack<b>${rate(ch.message_stats, 'ack')}/s</b></div>
      <div>Unacked<b>${fmt(ch.messages_unacknowledged)}</b></div><div>Consumers<b>${fmt(ch.consumer_count)}</b></div></div>
    <div class="box">Connection: <a href="#/connections/${enc(ch.connection_details.name)}">${esc(ch.connection_details.name)}</a> · user: ${esc(ch.user)} · vhost: ${esc(ch.vhost ?? '')}
      · mode: ${ch.confirm ? 'confirm' : ''}${ch.transactional ? 'transactional' : ''} · state: ${esc(ch.state)} · prefetch: ${fmt(ch.prefetch_count)} · global prefetch: ${fmt(ch.global_prefetch_count)}</div>
    <h2>Message rates (last 10 minutes)</h2><div class="charts"><div id="c-channel"></div></div>
    <h2>Consumers</h2>${table([{ title: 'Queue', value: (c) => c.queue.name }, { title: 'Tag', value: (c) => c.consumer_tag }, { title: 'Ack required', value: (c) => c.ack_required }, { title: 'Prefetch', value: (c) => c.prefetch_count, num: true }], ch.consumer_details ?? [])}`;
  ratesChart(document.getElementById('c-channel'), 'Message rates /s', ch.message_stats, MESSAGE_RATE_KEYS);
}

async function node(name) {
  const n = await api('GET', `/nodes/${enc(name)}?node_stats_age=600&node_stats_incr=5`);
  main.innerHTML = `<h1>Node: ${esc(n.name)}</h1>
    <div class="totals"><div>Memory<b id="node-mem">${bytes(n.mem_used)}</b></div><div>Disk free<b>${bytes(n.disk_free)}</b></div>
      <div>File descriptors<b>${fmt(n.fd_used)} / ${fmt(n.fd_total)}</b></div><div>Sockets<b>${fmt(n.sockets_used)}</b></div>
      <div>Uptime<b>${Math.floor(n.uptime / 3600000)}h ${Math.floor((n.uptime % 3600000) / 60000)}m</b></div></div>
    <div class="box">Memory limit: ${bytes(n.mem_limit)}${n.mem_alarm ? ' <span class="alarm">alarm</span>' : ''} · disk free limit: ${bytes(n.disk_free_limit)}${n.disk_free_alarm ? ' <span class="alarm">alarm</span>' : ''}
      · runtime: ${esc(n.runtime ?? '')} · running: ${n.running}</div>
    <h2>Charts (last 10 minutes)</h2><div class="charts"><div id="c-node-mem"></div><div id="c-node-fd"></div><div id="c-node-churn"></div></div>`;
  if (n.running === false) return;
  const gauges = (keys) => keys.map((k) => gaugePoints(n[`${k}_details`]?.samples));
  const mem = gauges(['mem_used']).map(([t, y]) => [t, y.map((b) => Math.round(b / (1 << 20)))]);
  if (mem[0][0].length > 1) chart(document.getElementById('c-node-mem'), 'Memory (MiB)', [{ label: 'used', stroke: '#e0a030' }], alignSeries(mem));
  const fds = gauges(['fd_used', 'sockets_used']);
  if (fds[0][0].length > 1) chart(document.getElementById('c-node-fd'), 'File descriptors and sockets', [{ label: 'descriptors', stroke: '#4f5d75' }, { label: 'sockets', stroke: '#5aa05a' }], alignSeries(fds));
  ratesChart(document.getElementById('c-node-churn'), 'Churn /s', n, [['connection_created', 'connections opened', '#e0a030'], ['channel_created', 'channels opened', '#5aa05a'], ['queue_declared', 'queues declared', '#4f5d75']]);
}

async function vhostOptions() {
  return (await api('GET', '/vhosts')).map((v) => `<option>${esc(v.name)}</option>`).join('');
}

async function exchanges() {
  const options = await vhostOptions();
  await pagedList(
    'Exchanges',
    '/exchanges',
    [
      { title: 'Vhost', value: (e) => e.vhost },
      { title: 'Name', html: (e) => `<a href="#/exchanges/${enc(e.vhost)}/${enc(e.name || 'amq.default')}">${esc(e.name || '(AMQP default)')}</a>` },
      { title: 'Type', value: (e) => e.type },
      { title: 'Features', value: (e) => [e.durable ? 'D' : '', e.auto_delete ? 'AD' : '', e.internal ? 'I' : ''].join(' ') },
      { title: 'In /s', value: (e) => rate(e.message_stats, 'publish_in'), num: true },
      { title: 'Out /s', value: (e) => rate(e.message_stats, 'publish_out'), num: true },
    ],
    `<h2>Add a new exchange</h2><form class="inline" id="add-exchange"><label>Vhost <select name="vhost">${options}</select></label>
      <label>Name <input name="name" required></label><label>Type <select name="type"><option>direct</option><option>fanout</option><option>topic</option><option>headers</option></select></label>
      <label>Durable <select name="durable"><option>true</option><option>false</option></select></label><button>Add exchange</button></form>`,
  );
  document.getElementById('add-exchange').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = formData(e.target);
    try {
      await api('PUT', `/exchanges/${enc(f.vhost)}/${enc(f.name)}`, { type: f.type, durable: f.durable === 'true' });
      route();
    } catch (err) {
      flash(err.message, false);
    }
  });
}

function publishForm(id) {
  return `<form class="inline" id="${id}"><label>Routing key <input name="routing_key"></label>
    <label>Delivery mode <select name="delivery_mode"><option value="1">1 - non-persistent</option><option value="2">2 - persistent</option></select></label>
    <label>Payload <textarea name="payload" rows="2" cols="40"></textarea></label><button>Publish message</button></form>`;
}

function bindPublish(id, vhost, exchange, fixedKey) {
  document.getElementById(id).addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = formData(e.target);
    try {
      const r = await api('POST', `/exchanges/${enc(vhost)}/${enc(exchange || 'amq.default')}/publish`, {
        properties: { delivery_mode: Number(f.delivery_mode) },
        routing_key: fixedKey ?? f.routing_key,
        payload: f.payload,
        payload_encoding: 'string',
      });
      flash(r.routed ? 'Message published.' : 'Message published, but not routed.', r.routed);
    } catch (err) {
      flash(err.message, false);
    }
  });
}

/** Line points of a gauge or a per-second rate from RabbitMQ's samples (newest first). */
function gaugePoints(samples) {
  const s = [...(samples ?? [])].reverse();
  return [s.map((p) => p.timestamp / 1000), s.map((p) => p.sample)];
}

/** A rates chart into `el` from `details` objects (message_stats or a row): keys [[name, label, colour]]; nothing before two samples. */
function ratesChart(el, title, details, keys) {
  const rates = keys.map(([k]) => ratePoints(details?.[`${k}_details`]?.samples));
  if (rates[0][0].length > 0) chart(el, title, keys.map(([, label, c]) => ({ label, stroke: c })), alignSeries(rates));
}

// Each detail page asks for ten minutes of the server's samples, so its chart shows the time before it was opened too.
const HISTORY = 'msg_rates_age=600&msg_rates_incr=5&lengths_age=600&lengths_incr=5&data_rates_age=600&data_rates_incr=5';

async function exchange(vhost, name) {
  const e = await api('GET', `/exchanges/${enc(vhost)}/${enc(name)}?${HISTORY}`);
  const bindings = await api('GET', `/exchanges/${enc(vhost)}/${enc(name)}/bindings/source`);
  main.innerHTML = `<h1>Exchange: ${esc(e.name || '(AMQP default)')} <small>(${esc(vhost)})</small></h1><div id="flash"></div>
    <div class="box">Type: ${esc(e.type)} · durable: ${e.durable} · auto-delete: ${e.auto_delete} · internal: ${e.internal}
      · in: <span id="x-rate">${rate(e.message_stats, 'publish_in')}</span>/s · out: ${rate(e.message_stats, 'publish_out')}/s</div>
    <h2>Message rates (last 10 minutes)</h2><div class="charts"><div id="c-exchange"></div></div>
    <h2>Bindings</h2>${table([{ title: 'To', value: (b) => b.destination }, { title: 'Type', value: (b) => b.destination_type }, { title: 'Routing key', value: (b) => b.routing_key }, { title: 'Arguments', value: (b) => JSON.stringify(b.arguments) }], bindings)}
    <h2>Publish message</h2>${publishForm('publish')}
    ${e.name && !e.name.startsWith('amq.') ? '<h2>Delete this exchange</h2><button class="danger" id="delete">Delete</button>' : ''}`;
  ratesChart(document.getElementById('c-exchange'), 'Message rates /s', e.message_stats, [['publish_in', 'publish (in)', '#e0a030'], ['publish_out', 'publish (out)', '#4f5d75']]);
  bindPublish('publish', vhost, e.name);
  document.getElementById('delete')?.addEventListener('click', async () => {
    await api('DELETE', `/exchanges/${enc(vhost)}/${enc(name)}`);
    location.hash = '#/exchanges';
  });
}

async function queues() {
  const options = await vhostOptions();
  await pagedList(
    'Queues',
    '/queues',
    [
      { title: 'Vhost', value: (q) => q.vhost },
      { title: 'Name', html: (q) => `<a href="#/queues/${enc(q.vhost)}/${enc(q.name)}">${esc(q.name)}</a>` },
      { title: 'Type', value: (q) => q.type },
      { title: 'Features', value: (q) => [q.durable ? 'D' : '', q.auto_delete ? 'AD' : '', q.exclusive ? 'Excl' : '', q.policy ? `Pol:${q.policy}` : ''].join(' ') },
      { title: 'State', value: (q) => q.state },
      { title: 'Ready', value: (q) => q.messages_ready, num: true },
      { title: 'Unacked', value: (q) => q.messages_unacknowledged, num: true },
      { title: 'Total', value: (q) => q.messages, num: true },
      { title: 'Incoming /s', value: (q) => rate(q.message_stats, 'publish'), num: true },
      { title: 'Deliver/get /s', value: (q) => rate(q.message_stats, 'deliver_get'), num: true },
      { title: 'Ack /s', value: (q) => rate(q.message_stats, 'ack'), num: true },
    ],
    `<h2>Add a new queue</h2><form class="inline" id="add-queue"><label>Vhost <select name="vhost">${options}</select></label>
      <label>Name <input name="name" required></label><label>Durable <select name="durable"><option>true</option><option>false</option></select></label>
      <label>Arguments (JSON) <input name="arguments" value="{}"></label><button>Add queue</button></form>`,
  );
  document.getElementById('add-queue').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = formData(e.target);
    try {
      await api('PUT', `/queues/${enc(f.vhost)}/${enc(f.name)}`, { durable: f.durable === 'true', auto_delete: false, arguments: JSON.parse(f.arguments || '{}') });
      route();
    } catch (err) {
      flash(err.message, false);
    }
  });
}

async function queue(vhost, name) {
  const q = await api('GET', `/queues/${enc(vhost)}/${enc(name)}?${HISTORY}`);
  const bindings = await api('GET', `/queues/${enc(vhost)}/${enc(name)}/bindings`);
  const queueNames = await api('GET', `/queues/${enc(vhost)}?page=1&page_size=500&columns=name`).then((p) => p.items.map((x) => x.name).filter((n) => n !== name), () => []);
  main.innerHTML = `<h1>Queue: ${esc(q.name)} <small>(${esc(vhost)})</small></h1><div id="flash"></div>
    <div class="totals"><div>Ready<b id="q-ready">${fmt(q.messages_ready)}</b></div><div>Unacked<b>${fmt(q.messages_unacknowledged)}</b></div>
      <div>Total<b id="q-total">${fmt(q.messages)}</b></div><div>Consumers<b>${fmt(q.consumers)}</b></div>
      <div>Incoming<b id="q-rate">${rate(q.message_stats, 'publish')}/s</b></div><div>Deliver/get<b>${rate(q.message_stats, 'deliver_get')}/s</b></div>
      <div>Ack<b>${rate(q.message_stats, 'ack')}/s</b></div></div>
    <div class="box">Type: ${esc(q.type)} · durable: ${q.durable} · auto-delete: ${q.auto_delete} · exclusive: ${q.exclusive} · node: ${esc(q.node)} · policy: ${esc(q.policy ?? '')}
      · arguments: ${esc(JSON.stringify(q.arguments))}</div>
    <h2>Charts (last 10 minutes)</h2><div class="charts"><div id="c-queue-lengths"></div><div id="c-queue"></div></div>
    <h2>Consumers</h2>${table([{ title: 'Channel', value: (c) => c.channel_details.name }, { title: 'Tag', value: (c) => c.consumer_tag }, { title: 'Ack required', value: (c) => c.ack_required }, { title: 'Prefetch', value: (c) => c.prefetch_count, num: true }, { title: 'Active', value: (c) => c.active }], q.consumer_details ?? [])}
    <h2>Bindings</h2>${table([{ title: 'From', value: (b) => b.source || '(AMQP default)' }, { title: 'Routing key', value: (b) => b.routing_key }, { title: 'Arguments', value: (b) => JSON.stringify(b.arguments) }], bindings)}
    <form class="inline" id="bind"><label>From exchange <input name="source" required></label><label>Routing key <input name="routing_key"></label><button>Bind</button></form>
    <h2>Publish message</h2>${publishForm('publish')}
    <h2>Get messages</h2><form class="inline" id="get"><label>Ack mode <select name="ackmode"><option value="ack_requeue_true">Nack message requeue true</option><option value="ack_requeue_false">Automatic ack</option><option value="reject_requeue_true">Reject requeue true</option><option value="reject_requeue_false">Reject requeue false</option></select></label>
      <label>Messages <input name="count" value="1" size="4"></label><button>Get Message(s)</button></form><div id="got"></div>
    <h2>Move messages</h2><form class="inline" id="move"><label>Destination queue <input name="dest" list="move-queues" required></label><datalist id="move-queues">${queueNames.map((n) => `<option value="${esc(n)}">`).join('')}</datalist><button>Move messages</button></form>
    <h2>Purge / delete</h2><div class="row"><button class="danger" id="purge">Purge Messages</button><button class="danger" id="delete">Delete Queue</button></div>`;
  const lengths = ['messages_ready', 'messages_unacknowledged'].map((k) => gaugePoints(q[`${k}_details`]?.samples));
  if (lengths[0][0].length > 1) chart(document.getElementById('c-queue-lengths'), 'Queued messages', [{ label: 'Ready', stroke: '#e0a030' }, { label: 'Unacked', stroke: '#4f5d75' }], alignSeries(lengths));
  ratesChart(document.getElementById('c-queue'), 'Message rates /s', q.message_stats, [['publish', 'incoming', '#e0a030'], ['deliver_get', 'deliver/get', '#4f5d75'], ['ack', 'ack', '#b23a48']]);
  document.getElementById('move').addEventListener('submit', async (e) => {
    e.preventDefault();
    const dest = formData(e.target).dest;
    // As RabbitMQ's UI: a dynamic shovel from this queue to the destination that deletes itself once the queue's messages moved.
    const shovel = `Move from ${name}`;
    try {
      await api('PUT', `/parameters/shovel/${enc(vhost)}/${enc(shovel)}`, {
        component: 'shovel', vhost, name: shovel,
        value: { 'src-uri': `amqp:///${enc(vhost)}`, 'src-queue': name, 'src-protocol': 'amqp091', 'src-prefetch-count': 1000, 'src-delete-after': 'queue-length',
          'dest-protocol': 'amqp091', 'dest-uri': `amqp:///${enc(vhost)}`, 'dest-add-forward-headers': false, 'ack-mode': 'on-confirm', 'dest-queue': dest },
      });
      flash(`Moving messages to ${dest}.`);
      lastInteractionMs = 0;
      e.target.reset();
      setTimeout(route, 500);
    } catch (err) {
      flash(err.message, false);
    }
  });
  bindPublish('publish', vhost, '', name);
  document.getElementById('bind').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = formData(e.target);
    try {
      await api('POST', `/bindings/${enc(vhost)}/e/${enc(f.source)}/q/${enc(name)}`, { routing_key: f.routing_key, arguments: {} });
      route();
    } catch (err) {
      flash(err.message, false);
    }
  });
  document.getElementById('get').addEventListener('submit', async (e) => {
    e.preventDefault();
    clearInterval(timer);
    const f = formData(e.target);
    const got = await api('POST', `/queues/${enc(vhost)}/${enc(name)}/get`, { count: Number(f.count), ackmode: f.ackmode, encoding: 'auto', truncate: 50000 });
    document.getElementById('got').innerHTML = got.length === 0 ? '<div class="msg err">Queue is empty</div>'
      : got.map((m, i) => `<div class="box"><b>Message ${i + 1}</b> · exchange: ${esc(m.exchange || '(AMQP default)')} · routing key: ${esc(m.routing_key)} · redelivered: ${m.redelivered} · ${m.message_count} left
          <div>Properties: ${esc(JSON.stringify(m.properties))}</div><pre class="payload">${esc(m.payload)}</pre></div>`).join('');
  });
  document.getElementById('purge').addEventListener('click', async () => {
    await api('DELETE', `/queues/${enc(vhost)}/${enc(name)}/contents`);
    flash('Queue purged.');
    setTimeout(route, 300);
  });
  document.getElementById('delete').addEventListener('click', async () => {
    await api('DELETE', `/queues/${enc(vhost)}/${enc(name)}`);
    location.hash = '#/queues';
  });
}

async function admin() {
  const [users, vhosts, permissions, policies, topicPermissions, vhostLimits, userLimits] = await Promise.all(
    ['/users', '/vhosts', '/permissions', '/policies', '/topic-permissions', '/vhost-limits', '/user-limits'].map((p) => api('GET', p)),
  );
  const userSelect = users.map((u) => `<option>${esc(u.name)}</option>`).join('');
  const limitRows = (rows, owner) => rows.flatMap((r) => Object.entries(r.value).map(([limit, value]) => ({ owner: r[owner], limit, value })));
  const vhostSelect = vhosts.map((v) => `<option>${esc(v.name)}</option>`).join('');
  main.innerHTML = `<h1>Admin</h1><div id="flash"></div>
    <h2>Users</h2>${table([{ title: 'Name', value: (u) => u.name }, { title: 'Tags', value: (u) => u.tags.join(', ') }, { title: '', html: (u) => `<button class="danger" data-user="${esc(u.name)}">Delete</button>` }], users, (u) => `data-row-user="${esc(u.name)}"`)}
    <form class="inline" id="add-user"><label>Username <input name="name" required></label><label>Password <input name="password" type="password"></label>
      <label>Tags <input name="tags" placeholder="administrator, monitoring"></label><button>Add user</button></form>
    <h2>Virtual hosts</h2>${table([{ title: 'Name', value: (v) => v.name }, { title: 'Messages', value: (v) => v.messages, num: true }, { title: '', html: (v) => (v.name === '/' ? '' : `<button class="danger" data-vhost="${esc(v.name)}">Delete</button>`) }], vhosts)}
    <form class="inline" id="add-vhost"><label>Name <input name="name" required></label><button>Add virtual host</button></form>
    <h2>Permissions</h2>${table([{ title: 'User', value: (p) => p.user }, { title: 'Vhost', value: (p) => p.vhost }, { title: 'Configure', value: (p) => p.configure }, { title: 'Write', value: (p) => p.write }, { title: 'Read', value: (p) => p.read }], permissions)}
    <form class="inline" id="set-permission"><label>User <select name="user">${users.map((u) => `<option>${esc(u.name)}</option>`).join('')}</select></label><label>Vhost <select name="vhost">${vhostSelect}</select></label>
      <label>Configure <input name="configure" value=".*"></label><label>Write <input name="write" value=".*"></label><label>Read <input name="read" value=".*"></label><button>Set permission</button></form>
    <h2>Topic permissions</h2>${table([{ title: 'User', value: (p) => p.user }, { title: 'Vhost', value: (p) => p.vhost }, { title: 'Exchange', value: (p) => p.exchange }, { title: 'Write', value: (p) => p.write }, { title: 'Read', value: (p) => p.read }, { title: '', html: (p) => `<button class="danger" data-topic-permission="${esc(JSON.stringify([p.vhost, p.user, p.exchange]))}">Clear</button>` }], topicPermissions)}
    <form class="inline" id="set-topic-permission"><label>User <select name="user">${userSelect}</select></label><label>Vhost <select name="vhost">${vhostSelect}</select></label>
      <label>Exchange <input name="exchange" value="amq.topic"></label><label>Write <input name="write" value=".*"></label><label>Read <input name="read" value=".*"></label><button>Set topic permission</button></form>
    <h2 id="limits">Limits</h2><h3>Virtual host limits</h3>${table([{ title: 'Vhost', value: (l) => l.owner }, { title: 'Limit', value: (l) => l.limit }, { title: 'Value', value: (l) => l.value, num: true }, { title: '', html: (l) => `<button class="danger" data-vhost-limit="${esc(JSON.stringify([l.owner, l.limit]))}">Clear</button>` }], limitRows(vhostLimits, 'vhost'), (l) => `data-row-vhost-limit="${esc(l.owner)}:${esc(l.limit)}"`)}
    <form class="inline" id="set-vhost-limit"><label>Vhost <select name="vhost">${vhostSelect}</select></label><label>Limit <select name="limit"><option>max-connections</option><option>max-queues</option></select></label>
      <label>Value <input name="value" size="6" required></label><button>Set / update limit</button></form>
    <h3>User limits</h3>${table([{ title: 'User', value: (l) => l.owner }, { title: 'Limit', value: (l) => l.limit }, { title: 'Value', value: (l) => l.value, num: true }, { title: '', html: (l) => `<button class="danger" data-user-limit="${esc(JSON.stringify([l.owner, l.limit]))}">Clear</button>` }], limitRows(userLimits, 'user'), (l) => `data-row-user-limit="${esc(l.owner)}:${esc(l.limit)}"`)}
    <form class="inline" id="set-user-limit"><label>User <select name="user">${userSelect}</select></label><label>Limit <select name="limit"><option>max-connections</option><option>max-channels</option></select></label>
      <label>Value <input name="value" size="6" required></label><button>Set / update limit</button></form>
    <h2>Policies</h2>${table([{ title: 'Vhost', value: (p) => p.vhost }, { title: 'Name', value: (p) => p.name }, { title: 'Pattern', value: (p) => p.pattern }, { title: 'Apply to', value: (p) => p['apply-to'] }, { title: 'Definition', value: (p) => JSON.stringify(p.definition) }, { title: 'Priority', value: (p) => p.priority, num: true }, { title: '', html: (p) => `<button class="danger" data-policy="${esc(JSON.stringify([p.vhost, p.name]))}">Delete</button>` }], policies)}
    <form class="inline" id="add-policy"><label>Vhost <select name="vhost">${vhostSelect}</select></label><label>Name <input name="name" required></label><label>Pattern <input name="pattern" required></label>
      <label>Apply to <select name="apply-to"><option>all</option><option>queues</option><option>exchanges</option></select></label><label>Definition (JSON) <input name="definition" value='{"max-length": 1000}'></label><label>Priority <input name="priority" value="0" size="3"></label><button>Add policy</button></form>
    <h2>Definitions</h2><div class="row"><button id="export">Download broker definitions</button>
      <form class="inline" id="import"><input type="file" name="file" accept=".json,application/json" required><button>Upload broker definitions</button></form></div>`;
  const submit = (id, fn) =>
    document.getElementById(id).addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await fn(formData(e.target));
        await admin();
        flash('Done.');
      } catch (err) {
        flash(err.message, false);
      }
    });
  submit('add-user', (f) => api('PUT', `/users/${enc(f.name)}`, { password: f.password, tags: f.tags }));
  submit('add-vhost', (f) => api('PUT', `/vhosts/${enc(f.name)}`, {}));
  submit('set-permission', (f) => api('PUT', `/permissions/${enc(f.vhost)}/${enc(f.user)}`, { configure: f.configure, write: f.write, read: f.read }));
  submit('add-policy', (f) => api('PUT', `/policies/${enc(f.vhost)}/${enc(f.name)}`, { pattern: f.pattern, 'apply-to': f['apply-to'], definition: JSON.parse(f.definition), priority: Number(f.priority) }));
  submit('import', async (f) => api('POST', '/definitions', JSON.parse(await f.file.text())));
  submit('set-topic-permission', (f) => api('PUT', `/topic-permissions/${enc(f.vhost)}/${enc(f.user)}`, { exchange: f.exchange, write: f.write, read: f.read }));
  submit('set-vhost-limit', (f) => api('PUT', `/vhost-limits/${enc(f.vhost)}/${enc(f.limit)}`, { value: Number(f.value) }));
  submit('set-user-limit', (f) => api('PUT', `/user-limits/${enc(f.user)}/${enc(f.limit)}`, { value: Number(f.value) }));
  const clear = (attr, path) =>
    main.querySelectorAll(`[${attr}]`).forEach((b) => b.addEventListener('click', async () => {
      try {
        await api('DELETE', path(JSON.parse(b.getAttribute(attr))));
        await admin();
      } catch (err) {
        flash(err.message, false);
      }
    }));
  clear('data-vhost-limit', ([v, l]) => `/vhost-limits/${enc(v)}/${enc(l)}`);
  clear('data-user-limit', ([u, l]) => `/user-limits/${enc(u)}/${enc(l)}`);
  clear('data-topic-permission', ([v, u, x]) => `/topic-permissions/${enc(v)}/${enc(u)}?exchange=${enc(x)}`);
  main.querySelectorAll('[data-user]').forEach((b) => b.addEventListener('click', async () => { await api('DELETE', `/users/${enc(b.dataset.user)}`); admin(); }));
  main.querySelectorAll('[data-vhost]').forEach((b) => b.addEventListener('click', async () => { await api('DELETE', `/vhosts/${enc(b.dataset.vhost)}`); admin(); }));
  // (An HTML attribute cannot carry a NUL separator: the parser replaces it, hence JSON.)
  clear('data-policy', ([v, n]) => `/policies/${enc(v)}/${enc(n)}`);
  document.getElementById('export').addEventListener('click', async () => {
    const doc = await api('GET', '/definitions');
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' }));
    a.download = `warren-definitions-${new Date().toISOString().slice(0, 10)}.json`;
    document.body.appendChild(a);
    a.click();
    a.remove();
  });
}

// ---- routing ----

const ROUTES = [
  [/^#?\/?$/, 'overview', overview, true],
  [/^#\/connections\/([^/?]+)$/, 'connections', connection, true],
  [/^#\/connections/, 'connections', connections, true],
  [/^#\/channels\/([^/?]+)$/, 'channels', channel, true],
  [/^#\/channels/, 'channels', channels, true],
  [/^#\/exchanges\/([^/?]+)\/([^/?]+)/, 'exchanges', exchange, false],
  [/^#\/exchanges/, 'exchanges', exchanges, false],
  [/^#\/queues\/([^/?]+)\/([^/?]+)/, 'queues', queue, true],
  [/^#\/queues/, 'queues', queues, true],
  [/^#\/nodes\/([^/?]+)$/, 'overview', node, true],
  [/^#\/admin/, 'admin', admin, false],
];

async function route() {
  clearInterval(timer);
  if (!auth) return showLogin();
  document.getElementById('top').hidden = false;
  for (const [re, tab, page, refresh] of ROUTES) {
    const m = re.exec(location.hash);
    if (!m) continue;
    document.querySelectorAll('nav a').forEach((a) => a.classList.toggle('active', a.dataset.tab === tab));
    const render = async () => {
      // Keep the page still while someone is using one of its forms.
      if (document.activeElement && ['INPUT', 'TEXTAREA', 'SELECT'].includes(document.activeElement.tagName)) return;
      if (Date.now() - lastInteractionMs < INTERACTION_QUIET_MS) return;
      charts.forEach((c) => c.destroy());
      charts = [];
      try {
        await page(...m.slice(1).map(decodeURIComponent));
      } catch (err) {
        if (err.status !== 401) main.innerHTML = `<div class="msg err">${esc(err.message)}</div>`;
      }
    };
    lastInteractionMs = 0;
    await render();
    if (refresh) timer = setInterval(render, REFRESH_MS);
    return;
  }
  main.innerHTML = '<div class="msg err">Not found</div>';
}

async function start() {
  if (auth) {
    try {
      const me = await api('GET', '/whoami');
      document.getElementById('who').textContent = `User: ${me.name}`;
    } catch {
      auth = null;
    }
  }
  route();
}

window.addEventListener('hashchange', route);
start();
