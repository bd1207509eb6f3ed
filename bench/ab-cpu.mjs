#!/usr/bin/env node
// Interleaved A/B of single-node throughput and broker CPU per message.
// usage: node bench/ab-cpu.mjs ROUNDS NAME=DIR [NAME=DIR ...] [-- warren-perf args]
// Each DIR is a built worktree (DIR/dist/src/cli/warren-server.js). Every round starts each
// server on a free port with a fresh data dir, runs one warren-perf (the first DIR's client,
// so every server sees the same load), reads the server's utime+stime from /proc/PID/stat
// around the run and prints msg/s and µs of server CPU per received message.
// Env: AB_SERVER_ENV='K=V K=V' adds server variables (e.g. WARREN_COLLECT_STATISTICS=none).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const argv = process.argv.slice(2);
const rounds = Number(argv.shift());
const sep = argv.indexOf('--');
const targets = (sep < 0 ? argv : argv.slice(0, sep)).map((s) => {
  const [name, dir, extra] = s.split('=');
  return { name, dir, env: extra ? Object.fromEntries(extra.split(',').map((kv) => kv.split(':'))) : {} };
});
const perfArgs = sep < 0 ? ['-x', '1', '-y', '1', '-s', '16', '-a', '-z', '5'] : argv.slice(sep + 1);
const extraEnv = Object.fromEntries((process.env.AB_SERVER_ENV ?? '').split(/\s+/).filter(Boolean).map((kv) => kv.split('=')));
const perfJs = join(targets[0].dir, 'dist/src/cli/warren-perf.js');
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

function freePort() {
  return new Promise((ok) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => ok(p)); }); });
}
function cpuTicks(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
}
async function waitPort(port) {
  for (let i = 0; i < 300; i++) {
    const ok = await new Promise((r) => { const c = connect(port, '127.0.0.1'); c.on('connect', () => { c.destroy(); r(true); }); c.on('error', () => r(false)); });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('server did not listen on ' + port);
}
async function one(t) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-ab-'));
  const child = spawn(process.execPath, [...(process.env.AB_NODE_ARGS ?? '').split(' ').filter(Boolean), join(t.dir, 'dist/src/cli/warren-server.js')], {
    env: { ...process.env, WARREN_NODE_PORT: String(port), WARREN_NODE_IP: '127.0.0.1', WARREN_DATA_DIR: dataDir, WARREN_LOG_LEVEL: 'warn',
      WARREN_MGMT_PORT: '0', WARREN_PROMETHEUS_PORT: '0', WARREN_MQTT_PORT: '0', WARREN_STOMP_PORT: '0', WARREN_WEB_STOMP_PORT: '0', WARREN_WEB_MQTT_PORT: '0', ...extraEnv, ...t.env },
    stdio: ['ignore', 'inherit', 'inherit'], cwd: t.dir,
  });
  await waitPort(port);
  await new Promise((r) => setTimeout(r, 500));
  const before = cpuTicks(child.pid);
  const out = execFileSync(process.execPath, [perfJs, '--uri', `amqp://guest:guest@127.0.0.1:${port}/`, ...perfArgs, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const after = cpuTicks(child.pid);
  const r = JSON.parse(out.trim().split('\n').pop());
  child.kill('SIGTERM');
  await new Promise((ok) => child.once('exit', ok));
  rmSync(dataDir, { recursive: true, force: true });
  const received = r.received ?? r.receivedCount ?? r.consumed;
  return { rate: r.receivedRate, received, usPerMsg: ((after - before) * TICK_US) / received, raw: r };
}
const results = Object.fromEntries(targets.map((t) => [t.name, []]));
for (let i = 0; i < rounds; i++) {
  for (const t of (i % 2 === 0 ? targets : [...targets].reverse())) {
    const r = await one(t);
    results[t.name].push(r);
    console.log(`round ${i + 1} ${t.name.padEnd(10)} ${Math.round(r.rate).toString().padStart(8)} msg/s  ${r.usPerMsg.toFixed(3)} µs/msg` + (process.env.AB_RAW ? ' ' + JSON.stringify(r.raw) : ''));
  }
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
for (const t of targets) {
  const rs = results[t.name];
  console.log(`${t.name.padEnd(10)} median ${Math.round(med(rs.map((r) => r.rate)))} msg/s, ${med(rs.map((r) => r.usPerMsg)).toFixed(3)} µs/msg  (rates ${rs.map((r) => Math.round(r.rate / 1000) + 'k').join(' ')}; µs ${rs.map((r) => r.usPerMsg.toFixed(2)).join(' ')})`);
}
