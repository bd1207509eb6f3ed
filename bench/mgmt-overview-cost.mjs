#!/usr/bin/env node
// Cost of GET /api/overview with many objects, per broker build, interleaved: each round starts each
// target's warren-server (management on a free port, fresh data dir), declares QUEUES queues and opens
// CONNECTIONS connections (amqplib), waits for a statistics sample, then times N requests of
// /api/whoami (the floor: auth and HTTP only) and /api/overview, reading the server's CPU time
// (utime+stime from /proc/PID/stat) around each batch; it also reports the sampler's CPU while idle.
//   node bench/mgmt-overview-cost.mjs ROUNDS QUEUES CONNECTIONS N NAME=DIR[=K:V,...] ...
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const [rounds, queues, connections, n, ...specs] = process.argv.slice(2);
const targets = specs.map((s) => {
  const [name, dir, extra] = s.split('=');
  return { name, dir, env: extra ? Object.fromEntries(extra.split(',').map((kv) => kv.split(':'))) : {} };
});
const amqp = createRequire(join(targets[0].dir, 'package.json'))('amqplib');
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
const auth = 'Basic ' + Buffer.from('guest:guest').toString('base64');
const freePort = () => new Promise((ok) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => ok(p)); }); });
const ticks = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8'); const r = f.slice(f.lastIndexOf(')') + 2).split(' '); return Number(r[11]) + Number(r[12]); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitPort(port) {
  for (let i = 0; i < 300; i++) {
    if (await new Promise((r) => { const c = connect(port, '127.0.0.1'); c.on('connect', () => { c.destroy(); r(true); }); c.on('error', () => r(false)); })) return;
    await sleep(50);
  }
  throw new Error('no listener on ' + port);
}
async function batch(pid, url) {
  const t0 = ticks(pid);
  const ms = [];
  for (let i = 0; i < Number(n); i++) {
    const t = performance.now();
    const res = await fetch(url, { headers: { authorization: auth } });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { cpuUs: ((ticks(pid) - t0) * TICK_US) / ms.length, median: ms[ms.length >> 1], p95: ms[Math.floor(ms.length * 0.95)] };
}
async function one(t) {
  const [port, mgmt] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-ov-'));
  const child = spawn(process.execPath, [join(t.dir, 'dist/src/cli/warren-server.js')], {
    env: { ...process.env, WARREN_NODE_PORT: String(port), WARREN_NODE_IP: '127.0.0.1', WARREN_DATA_DIR: dataDir, WARREN_LOG_LEVEL: 'warn', WARREN_MGMT_PORT: String(mgmt), WARREN_MGMT_IP: '127.0.0.1',
      WARREN_PROMETHEUS_PORT: '0', WARREN_MQTT_PORT: '0', WARREN_STOMP_PORT: '0', WARREN_WEB_STOMP_PORT: '0', WARREN_WEB_MQTT_PORT: '0', ...t.env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    await waitPort(port);
    await waitPort(mgmt);
    const url = `amqp://guest:guest@127.0.0.1:${port}`;
    const conn = await amqp.connect(url);
    const ch = await conn.createChannel();
    for (let i = 0; i < Number(queues); i += 500) await Promise.all(Array.from({ length: Math.min(500, queues - i) }, (_, j) => ch.assertQueue(`ov.${i + j}`, { durable: false })));
    const conns = [];
    for (let i = 0; i < Number(connections); i += 50) conns.push(...(await Promise.all(Array.from({ length: Math.min(50, connections - i) }, () => amqp.connect(url)))));
    await sleep(6000);
    const i0 = ticks(child.pid);
    await sleep(10_000);
    const idleMsPerS = ((ticks(child.pid) - i0) * TICK_US) / 1000 / 10;
    const base = `http://127.0.0.1:${mgmt}`;
    const whoami = await batch(child.pid, `${base}/api/whoami`);
    const overview = await batch(child.pid, `${base}/api/overview`);
    for (const c of conns) await c.close().catch(() => undefined);
    await conn.close();
    return { whoami, overview, idleMsPerS };
  } finally {
    child.kill('SIGTERM');
    await new Promise((ok) => child.once('exit', ok));
    rmSync(dataDir, { recursive: true, force: true });
  }
}
const f = (x) => x.toFixed(2);
for (let r = 0; r < Number(rounds); r++) {
  for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
    const x = await one(t);
    console.log(`round ${r + 1} ${t.name.padEnd(10)} overview: ${x.overview.cpuUs.toFixed(0)} µs CPU/req, median ${f(x.overview.median)} ms, p95 ${f(x.overview.p95)} ms | whoami: ${x.whoami.cpuUs.toFixed(0)} µs CPU/req, median ${f(x.whoami.median)} ms | idle broker CPU ${f(x.idleMsPerS)} ms/s`);
  }
}
