import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import type { Mesh } from '../../cluster/mesh/mesh';
import { MeshError, isMeshError } from '../../cluster/mesh/mesh-errors';
import { freePort } from '../helpers/free-port';
import { meshEvent, startMesh, waitUntil, withTimeout } from './helpers/child-node';

const addr = (m: Mesh) => ({ host: '127.0.0.1', port: m.port });

async function closeAll(meshes: Mesh[]): Promise<void> {
  await Promise.all(meshes.map((m) => m.close()));
}

/** Two connected nodes, a (dials) and b; the smaller name is told about the larger. */
async function pair(): Promise<[Mesh, Mesh]> {
  const a = await startMesh('warren@a');
  const b = await startMesh('warren@b');
  a.connect(b.nodeName, addr(b));
  await Promise.all([meshEvent(a, 'nodeup', b.nodeName, 5000), meshEvent(b, 'nodeup', a.nodeName, 5000)]);
  return [a, b];
}

test('a full mesh of four nodes forms with one link per pair, dialed by the smaller name', async (t) => {
  const names = ['warren@d', 'warren@b', 'warren@a', 'warren@c'];
  const meshes = await Promise.all(names.map((n) => startMesh(n)));
  t.after(() => closeAll(meshes));
  for (const m of meshes) for (const o of meshes) if (m !== o) m.connect(o.nodeName, addr(o));
  await waitUntil(() => meshes.every((m) => m.peers().filter((p) => p.status === 'up').length === 3), 10_000, 'full mesh');
  for (const m of meshes) {
    for (const p of m.peers()) {
      assert.equal(p.direction, m.nodeName < p.name ? 'outbound' : 'inbound', `${m.nodeName} → ${p.name}`);
    }
  }
  // Stays formed: no flapping from duplicate dials.
  let downs = 0;
  for (const m of meshes) m.on('nodedown', () => downs++);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(downs, 0);
  assert.ok(meshes[0]!.peers().every((p) => p.rttMs !== undefined && p.rttMs >= 0 && p.rttMs < 500));
});

test('a node that only the larger name knows is reached by knock and dial-back', async (t) => {
  const a = await startMesh('warren@a');
  const z = await startMesh('warren@z');
  t.after(() => closeAll([a, z]));
  z.connect(a.nodeName, addr(a));
  await Promise.all([meshEvent(a, 'nodeup', z.nodeName, 5000), meshEvent(z, 'nodeup', a.nodeName, 5000)]);
  assert.equal(a.peers()[0]!.direction, 'outbound');
  assert.equal(z.peers()[0]!.direction, 'inbound');
  assert.deepEqual(a.peers()[0]!.address, addr(z), 'a learned where z listens from its knock');
});

test('send preserves order per channel, in both directions', async (t) => {
  const [a, b] = await pair();
  t.after(() => closeAll([a, b]));
  const got = { a: [] as string[], b1: [] as string[], b2: [] as string[] };
  a.handle('one', (from, p) => {
    assert.equal(from, 'warren@b');
    got.a.push(p.toString());
  });
  b.handle('one', (_from, p) => void got.b1.push(p.toString()));
  b.handle('two', (_from, p) => void got.b2.push(p.toString()));
  const n = 5000;
  for (let i = 0; i < n; i++) {
    a.send(b.nodeName, i % 3 === 0 ? 'two' : 'one', Buffer.from(String(i)));
    b.send(a.nodeName, 'one', Buffer.from(String(i)));
  }
  await waitUntil(() => got.a.length === n && got.b1.length + got.b2.length === n, 5000, 'all messages');
  assert.deepEqual(got.a, Array.from({ length: n }, (_, i) => String(i)));
  assert.deepEqual(got.b2, Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 === 0).map(String));
  assert.deepEqual(got.b1, Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 !== 0).map(String));
});

test('request/response works in both directions, concurrently, with large payloads', async (t) => {
  const [a, b] = await pair();
  t.after(() => closeAll([a, b]));
  for (const m of [a, b]) m.handle('echo', (from, p) => Buffer.concat([Buffer.from(`${m.nodeName}<${from}:`), p]));
  b.handle('later', async (_from, p) => {
    await new Promise((r) => setTimeout(r, 20));
    return p;
  });
  assert.equal((await a.request(b.nodeName, 'echo', Buffer.from('x'), 2000)).toString(), 'warren@b<warren@a:x');
  assert.equal((await b.request(a.nodeName, 'echo', Buffer.from('y'), 2000)).toString(), 'warren@a<warren@b:y');
  const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => a.request(b.nodeName, i % 2 ? 'later' : 'echo', Buffer.from(String(i)), 5000)));
  replies.forEach((r, i) => assert.equal(r.toString(), i % 2 ? String(i) : `warren@b<warren@a:${i}`));
  const big = Buffer.alloc(3 * 1024 * 1024 + 7, 0xab);
  const back = await a.request(b.nodeName, 'later', big, 5000);
  assert.ok(back.equals(big));
});

test('messages sent while connecting are delivered once the link is up, in order', async (t) => {
  const a = await startMesh('warren@a');
  const b = await startMesh('warren@b');
  t.after(() => closeAll([a, b]));
  const got: string[] = [];
  a.handle('c', (_from, p) => void got.push(p.toString()));
  b.connect(a.nodeName, addr(a));
  for (let i = 0; i < 100; i++) b.send(a.nodeName, 'c', Buffer.from(String(i)));
  await waitUntil(() => got.length === 100, 5000, 'buffered messages');
  assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => String(i)));
});

test('a handler that throws does not kill the node; the requester gets REMOTE_ERROR', async (t) => {
  const [a, b] = await pair();
  t.after(() => closeAll([a, b]));
  b.handle('boom', () => {
    throw new Error('kaput');
  });
  b.handle('reject', async () => {
    throw new Error('async kaput');
  });
  b.handle('bad-return', () => 42 as unknown as Buffer);
  b.handle('echo', (_f, p) => p);
  a.send(b.nodeName, 'boom', Buffer.from('x'));
  a.send(b.nodeName, 'reject', Buffer.from('x'));
  await assert.rejects(a.request(b.nodeName, 'boom', Buffer.alloc(0), 2000), (e: MeshError) => e.code === 'REMOTE_ERROR' && e.message === 'kaput');
  await assert.rejects(a.request(b.nodeName, 'reject', Buffer.alloc(0), 2000), (e: MeshError) => e.code === 'REMOTE_ERROR' && e.message === 'async kaput');
  await assert.rejects(a.request(b.nodeName, 'bad-return', Buffer.alloc(0), 2000), (e: MeshError) => e.code === 'REMOTE_ERROR');
  await assert.rejects(a.request(b.nodeName, 'nobody', Buffer.alloc(0), 2000), (e: MeshError) => e.code === 'NO_HANDLER');
  assert.equal((await a.request(b.nodeName, 'echo', Buffer.from('still here'), 2000)).toString(), 'still here');
  assert.ok(a.isUp(b.nodeName) && b.isUp(a.nodeName));
});

test('requests reject promptly when the peer is down, goes down, or does not answer in time', async (t) => {
  const [a, b] = await pair();
  const port = await freePort();
  t.after(() => closeAll([a, b]));
  // Never up: nothing listens there.
  a.connect('warren@nobody', { host: '127.0.0.1', port });
  let started = Date.now();
  await assert.rejects(a.request('warren@nobody', 'x', Buffer.alloc(0), 5000), (e: MeshError) => isMeshError(e, 'PEER_DOWN'));
  assert.ok(Date.now() - started < 100);
  await assert.rejects(a.request('warren@stranger', 'x', Buffer.alloc(0), 5000), (e: MeshError) => isMeshError(e, 'UNKNOWN_PEER'));
  // Timeout.
  b.handle('never', () => new Promise<Buffer>(() => undefined));
  started = Date.now();
  await assert.rejects(a.request(b.nodeName, 'never', Buffer.alloc(0), 200), (e: MeshError) => isMeshError(e, 'REQUEST_TIMEOUT'));
  assert.ok(Date.now() - started < 1000);
  // Pending when the peer goes away: rejected at nodedown, not at the timeout.
  const pending = a.request(b.nodeName, 'never', Buffer.alloc(0), 10_000).then(
    () => undefined,
    (e: unknown) => e,
  );
  await new Promise((r) => setTimeout(r, 50));
  started = Date.now();
  await b.close();
  assert.ok(isMeshError(await pending, 'PEER_DOWN'));
  assert.ok(Date.now() - started < 1000, `rejected after ${Date.now() - started} ms`);
  await assert.rejects(a.request(b.nodeName, 'never', Buffer.alloc(0), 5000), (e: MeshError) => isMeshError(e, 'PEER_DOWN'));
});

test('a node with the wrong secret is refused and logged, in either dialing role', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const log = pino({ level: 'warn' }, sink);
  const good = await startMesh('warren@m', { logger: log });
  const early = await startMesh('warren@a', { secret: 'wrong' });
  const late = await startMesh('warren@z', { secret: 'wrong' });
  t.after(() => closeAll([good, early, late]));
  let ups = 0;
  for (const m of [good, early, late]) m.on('nodeup', () => ups++);
  good.connect(late.nodeName, addr(late)); // good dials late: late fails to prove
  early.connect(good.nodeName, addr(good)); // early dials good: early fails to prove
  late.connect(good.nodeName, addr(good)); // late knocks good: late fails to prove
  await waitUntil(() => lines.filter((l) => l.includes('cluster secret')).length >= 3, 5000, 'refusals logged');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(ups, 0);
  assert.ok(good.peers().every((p) => p.status === 'down'));
  assert.ok(lines.some((l) => l.includes('"peer":"warren@a"') && l.includes('failed to prove')));
  assert.ok(!lines.some((l) => l.includes('wrong') || l.includes('test-secret')), 'secrets never logged');
});

test('disconnect drops the link and refuses the peer until connect again', async (t) => {
  const [a, b] = await pair();
  t.after(() => closeAll([a, b]));
  const downs = Promise.all([meshEvent(b, 'nodedown', a.nodeName, 2000), meshEvent(a, 'nodedown', b.nodeName, 2000)]);
  b.disconnect(a.nodeName);
  await downs;
  // a keeps redialing; b refuses.
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(a.isUp(b.nodeName), false);
  assert.equal(b.peers().length, 0);
  b.connect(a.nodeName, addr(a));
  await Promise.all([meshEvent(a, 'nodeup', b.nodeName, 3000), meshEvent(b, 'nodeup', a.nodeName, 3000)]);
});

test('the resolver supplies addresses, and send() to an unknown name connects through it', async (t) => {
  const b = await startMesh('warren@b');
  const resolved: string[] = [];
  const a = await startMesh('warren@a', {
    resolver: async (name) => {
      resolved.push(name);
      if (name !== 'warren@b') throw new Error('no such node');
      return addr(b);
    },
  });
  t.after(() => closeAll([a, b]));
  const got: string[] = [];
  b.handle('c', (_f, p) => void got.push(p.toString()));
  assert.equal(a.send(b.nodeName, 'c', Buffer.from('hello')), true);
  await waitUntil(() => got.length === 1, 5000, 'delivery through resolver');
  assert.deepEqual(resolved, ['warren@b']);
});

test('send reports backpressure and emits drain', async (t) => {
  const [a, b] = await pair();
  t.after(() => closeAll([a, b]));
  let count = 0;
  b.handle('bulk', () => void count++);
  const payload = Buffer.alloc(64 * 1024);
  let i = 0;
  while (a.send(b.nodeName, 'bulk', payload)) i++;
  assert.ok(i < 200, `send returned true ${i} times`);
  const [drained] = await withTimeout(once(a, 'drain'), 5000, 'drain');
  assert.equal(drained, b.nodeName);
  assert.equal(a.send(b.nodeName, 'bulk', payload), true);
  i++;
  await waitUntil(() => count === i + 1, 5000, 'bulk delivered');
});

test('a handler may disconnect its own peer halfway through a batch', async (t) => {
  const [a, b] = await pair();
  t.after(() => closeAll([a, b]));
  let seen = 0;
  b.handle('c', (from) => {
    if (++seen === 3) b.disconnect(from);
  });
  for (let i = 0; i < 10; i++) a.send(b.nodeName, 'c', Buffer.from(String(i)));
  await meshEvent(a, 'nodedown', b.nodeName, 2000);
  assert.equal(seen, 3);
  assert.equal(b.peers().length, 0);
});
