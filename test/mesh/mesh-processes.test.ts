/**
 * Mesh nodes in separate processes on 127.0.0.1: the parent runs one node in-process and
 * forks three more (mesh-child.ts). Names are chosen so that the parent dials one child
 * and is dialed by the other two.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Mesh } from '../../cluster/mesh/mesh';
import { isMeshError } from '../../cluster/mesh/mesh-errors';
import type { PeerInfo } from '../../cluster/mesh/peer';
import { freePort } from '../helpers/free-port';
import { ChildNode, meshEvent, startMesh, waitUntil } from './helpers/child-node';

const TICK_MS = 1000;
const SECRET = 'process-test-secret';

describe('mesh across processes', () => {
  let parent: Mesh;
  const children: ChildNode[] = [];
  const received: { from: string; payload: string }[] = [];

  before(async () => {
    parent = await startMesh('warren@m', { secret: SECRET, tickMs: TICK_MS });
    parent.handle('collect', (from, p) => void received.push({ from, payload: p.toString() }));
    parent.handle('echo', (from, p) => Buffer.from(`warren@m:${from}:${p.toString()}`));
    for (const name of ['warren@b', 'warren@n', 'warren@z']) children.push(new ChildNode(name, await freePort(), SECRET, TICK_MS));
    const everyone = [{ name: parent.nodeName, host: '127.0.0.1', port: parent.port }, ...children.map((c) => c.spec)];
    await Promise.all(children.map((c) => c.start(everyone.filter((p) => p.name !== c.name))));
    for (const c of children) parent.connect(c.name, c.spec);
  });

  after(async () => {
    await Promise.all(children.map((c) => c.stop()));
    await parent.close();
  });

  const child = (name: string): ChildNode => children.find((c) => c.name === name)!;

  async function allUp(): Promise<boolean> {
    if (parent.peers().filter((p) => p.status === 'up').length !== 3) return false;
    for (const c of children) {
      const peers = await c.call<PeerInfo[]>({ cmd: 'peers' });
      if (peers.filter((p) => p.status === 'up').length !== 3) return false;
    }
    return true;
  }

  it('forms a full mesh: every node sees every other up', async () => {
    await waitUntil(allUp, 10_000, 'full mesh across processes');
    for (const p of parent.peers()) assert.equal(p.direction, p.name < parent.nodeName ? 'inbound' : 'outbound');
  });

  it('send keeps order and request works, in both directions and between children', async () => {
    const n = 2000;
    for (let i = 0; i < n; i++) parent.send('warren@z', 'collect', Buffer.from(`p${i}`));
    await child('warren@b').call({ cmd: 'send', to: 'warren@m', channel: 'collect', payloads: Array.from({ length: n }, (_, i) => `b${i}`) });
    await child('warren@b').call({ cmd: 'send', to: 'warren@z', channel: 'collect', payloads: Array.from({ length: n }, (_, i) => `bz${i}`) });
    await waitUntil(() => received.length === n, 5000, 'messages from b');
    assert.deepEqual(received.map((r) => r.payload), Array.from({ length: n }, (_, i) => `b${i}`));
    assert.ok(received.every((r) => r.from === 'warren@b'));
    let atZ: string[] = [];
    await waitUntil(async () => (atZ = await child('warren@z').call<string[]>({ cmd: 'received', name: 'warren@m' })).length === n, 5000, 'messages at z');
    assert.deepEqual(atZ, Array.from({ length: n }, (_, i) => `p${i}`));
    let fromB: string[] = [];
    await waitUntil(async () => (fromB = await child('warren@z').call<string[]>({ cmd: 'received', name: 'warren@b' })).length === n, 5000, 'b → z');
    assert.deepEqual(fromB, Array.from({ length: n }, (_, i) => `bz${i}`));

    assert.equal((await parent.request('warren@n', 'echo', Buffer.from('hi'), 2000)).toString(), 'warren@n:hi');
    assert.equal(await child('warren@z').call({ cmd: 'request', to: 'warren@m', channel: 'echo', payload: 'yo' }), 'warren@m:warren@z:yo');
    assert.equal(await child('warren@b').call({ cmd: 'request', to: 'warren@z', channel: 'echo', payload: 'x' }), 'warren@z:x');
  });

  it('a handler that throws in a child does not kill it', async () => {
    parent.send('warren@n', 'throw', Buffer.from('x'));
    await assert.rejects(parent.request('warren@n', 'throw', Buffer.alloc(0), 2000), (e) => isMeshError(e, 'REMOTE_ERROR'));
    assert.equal((await parent.request('warren@n', 'echo', Buffer.from('alive'), 2000)).toString(), 'warren@n:alive');
    assert.equal(child('warren@n').child!.exitCode, null);
  });

  it('SIGKILL: nodedown within the tick everywhere, prompt PEER_DOWN, nodeup after restart', async () => {
    const victim = child('warren@n');
    const marks = children.filter((c) => c !== victim).map((c) => c.events.length);
    const parentDown = meshEvent(parent, 'nodedown', victim.name, TICK_MS * 2);
    const killedAt = Date.now();
    await victim.signal('SIGKILL');
    await parentDown;
    const downMs = Date.now() - killedAt;
    assert.ok(downMs <= TICK_MS, `nodedown after ${downMs} ms`);
    await Promise.all(children.filter((c) => c !== victim).map((c, i) => c.waitEvent('nodedown', victim.name, TICK_MS * 2, marks[i])));

    const started = Date.now();
    await assert.rejects(parent.request(victim.name, 'echo', Buffer.alloc(0), 5000), (e) => isMeshError(e, 'PEER_DOWN'));
    assert.ok(Date.now() - started < 100);

    const upMarks = children.filter((c) => c !== victim).map((c) => c.events.length);
    const parentUp = meshEvent(parent, 'nodeup', victim.name, 10_000);
    await victim.start();
    await parentUp;
    await Promise.all(children.filter((c) => c !== victim).map((c, i) => c.waitEvent('nodeup', victim.name, 10_000, upMarks[i])));
    await waitUntil(allUp, 10_000, 'full mesh after restart');
    assert.equal((await parent.request(victim.name, 'echo', Buffer.from('back'), 2000)).toString(), 'warren@n:back');
  });

  it('SIGSTOP: a silent peer is marked down by heartbeat, and up again after SIGCONT', async () => {
    const victim = child('warren@z');
    const parentDown = meshEvent(parent, 'nodedown', victim.name, TICK_MS * 3);
    const stoppedAt = Date.now();
    await victim.signal('SIGSTOP');
    const reason = await parentDown;
    const downMs = Date.now() - stoppedAt;
    assert.match(reason, /heartbeat/);
    // Silence is counted from the last frame received, up to tickMs/4 before the stop.
    assert.ok(downMs >= TICK_MS * 0.7 && downMs <= TICK_MS * 1.6, `nodedown after ${downMs} ms`);
    const parentUp = meshEvent(parent, 'nodeup', victim.name, 10_000);
    await victim.signal('SIGCONT');
    await parentUp;
    await waitUntil(allUp, 10_000, 'full mesh after SIGCONT');
  });

  it('a child with the wrong secret is refused and never becomes up', async () => {
    const intruder = new ChildNode('warren@c', await freePort(), 'not-the-secret', TICK_MS);
    try {
      await intruder.start([{ name: parent.nodeName, host: '127.0.0.1', port: parent.port }, child('warren@z').spec]);
      parent.connect(intruder.name, intruder.spec);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(parent.isUp(intruder.name), false);
      assert.deepEqual(intruder.events.filter((e) => e.event === 'nodeup'), []);
      const atZ = await child('warren@z').call<PeerInfo[]>({ cmd: 'peers' });
      assert.ok(atZ.every((p) => p.name !== intruder.name || p.status === 'down'));
    } finally {
      parent.disconnect(intruder.name);
      await intruder.stop();
    }
  });
});
