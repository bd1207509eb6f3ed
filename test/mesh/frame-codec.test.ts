import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameType, ResponseStatus, decodeBatch, decodeChallenge, decodeHello, encodeChallenge, encodeHello, type FrameVisitor } from '../../cluster/mesh/frame-codec';
import { computeProof, newNonce, proofMatches } from '../../cluster/mesh/handshake-proof';
import { isMeshError } from '../../cluster/mesh/mesh-errors';
import { ChannelTable, OutboundQueue } from '../../cluster/mesh/outbound-queue';

type Seen = [string, ...unknown[]];

/** Decodes batches the way a Link does, keeping its own inbound channel table. */
function collector(): { visitor: FrameVisitor; seen: Seen[] } {
  const seen: Seen[] = [];
  const channels: string[] = [];
  const visitor: FrameVisitor = {
    onChannel: (id, name) => void (channels[id] = name),
    onMessage: (c, p) => void seen.push(['msg', channels[c], p.toString()]),
    onRequest: (id, c, p) => void seen.push(['req', id, channels[c], p.toString()]),
    onResponse: (id, s, p) => void seen.push(['res', id, s, p.toString()]),
    onPing: (t) => void seen.push(['ping', t]),
    onPong: (t) => void seen.push(['pong', t]),
    onControl: (type, body) => void seen.push(['control', type, body.length]),
  };
  return { visitor, seen };
}

test('a queue round-trips messages, requests and responses in order, defining channels once', () => {
  const q = new OutboundQueue();
  q.pushMessage('alpha', Buffer.from('1'));
  q.pushRequest(7, 'beta', Buffer.from('2'));
  q.pushMessage('alpha', Buffer.from('3'));
  q.pushResponse(9, ResponseStatus.ERROR, Buffer.from('oops'));
  q.pushMessage('ünïcode', Buffer.alloc(0));
  assert.ok(q.bytes > 0);
  const table = new ChannelTable();
  const batch = q.takeBatch(table, 1 << 20, [])!;
  assert.equal(q.length, 0);
  assert.equal(q.bytes, 0);
  const { visitor, seen } = collector();
  decodeBatch(batch, visitor);
  assert.deepEqual(seen, [
    ['msg', 'alpha', '1'],
    ['req', 7, 'beta', '2'],
    ['msg', 'alpha', '3'],
    ['res', 9, ResponseStatus.ERROR, 'oops'],
    ['msg', 'ünïcode', ''],
  ]);
  // A later batch on the same link reuses the ids without redefining.
  q.pushMessage('alpha', Buffer.from('4'));
  const second = q.takeBatch(table, 1 << 20, [])!;
  assert.equal(second.length, 5 + 2 + 1);
  decodeBatch(second, visitor);
  assert.deepEqual(seen.at(-1), ['msg', 'alpha', '4']);
  assert.equal(q.takeBatch(table, 1 << 20, []), undefined);
});

test('batches split at the size limit and every channel is defined before its first use', () => {
  const q = new OutboundQueue();
  const expected: Seen[] = [];
  for (let i = 0; i < 3000; i++) {
    const channel = `ch${i % 37}`;
    const payload = 'x'.repeat(i % 50);
    q.pushMessage(channel, Buffer.from(payload));
    expected.push(['msg', channel, payload]);
  }
  const table = new ChannelTable();
  const { visitor, seen } = collector();
  let batches = 0;
  for (let b = q.takeBatch(table, 1000, []); b !== undefined; b = q.takeBatch(table, 1000, [])) {
    assert.ok(b.length <= 1000 + 100, `batch of ${b.length}`);
    decodeBatch(b, visitor);
    batches++;
  }
  assert.ok(batches > 50);
  assert.deepEqual(seen, expected);
});

test('a frame larger than the batch limit goes alone; prefix control frames come first', () => {
  const q = new OutboundQueue();
  q.pushMessage('big', Buffer.alloc(5000, 1));
  q.pushMessage('big', Buffer.from('small'));
  const table = new ChannelTable();
  const ping = Buffer.from([0, 0, 0, 9, FrameType.PING, 0x40, 0, 0, 0, 0, 0, 0, 0]);
  const { visitor, seen } = collector();
  decodeBatch(q.takeBatch(table, 1000, [ping])!, visitor);
  assert.equal(seen.length, 2);
  assert.deepEqual(seen[0], ['ping', 2]);
  assert.equal((seen[1]![2] as string).length, 5000);
  decodeBatch(q.takeBatch(table, 1000, [])!, visitor);
  assert.deepEqual(seen[2], ['msg', 'big', 'small']);
});

test('truncated or unknown frames are protocol errors', () => {
  const { visitor } = collector();
  const q = new OutboundQueue();
  q.pushMessage('c', Buffer.from('payload'));
  const batch = q.takeBatch(new ChannelTable(), 1 << 20, [])!;
  const channelFrameBytes = 5 + 2 + 1; // a whole CHANNEL frame is a valid batch on its own
  for (let cut = 1; cut < batch.length; cut++) {
    if (cut === channelFrameBytes) continue;
    assert.throws(() => decodeBatch(batch.subarray(0, cut), collector().visitor), (e) => isMeshError(e, 'PROTOCOL_ERROR'), `cut at ${cut}`);
  }
  assert.throws(() => decodeBatch(Buffer.from([0, 0, 0, 1, 99]), visitor), (e) => isMeshError(e, 'PROTOCOL_ERROR'));
  assert.throws(() => decodeBatch(Buffer.from([0, 0, 0, 0, 16]), visitor), (e) => isMeshError(e, 'PROTOCOL_ERROR'));
});

test('handshake frames round-trip', () => {
  const hello = { version: 1, nonce: newNonce(), nodeName: 'warren@a', expectedPeer: 'warren@b', advertiseHost: '', advertisePort: 25672 };
  const { visitor, seen } = collector();
  let body: Buffer | undefined;
  decodeBatch(encodeHello(hello), { ...visitor, onControl: (_t, b) => void (body = b) });
  assert.deepEqual(decodeHello(body!), hello);
  const challenge = { nonce: newNonce(), proof: newNonce(), nodeName: 'warren@b' };
  decodeBatch(encodeChallenge(challenge), { ...visitor, onControl: (_t, b) => void (body = b) });
  assert.deepEqual(decodeChallenge(body!), challenge);
  assert.throws(() => decodeHello(body!.subarray(0, 10)), (e) => isMeshError(e, 'PROTOCOL_ERROR'));
  assert.equal(seen.length, 0);
});

test('proofs depend on the secret, both nonces, both names and the role', () => {
  const secret = Buffer.from('s');
  const n1 = newNonce();
  const n2 = newNonce();
  const base = computeProof(secret, 'dialer', n1, n2, 'warren@a', 'warren@b');
  assert.ok(proofMatches(base, computeProof(secret, 'dialer', n1, n2, 'warren@a', 'warren@b')));
  for (const other of [
    computeProof(Buffer.from('t'), 'dialer', n1, n2, 'warren@a', 'warren@b'),
    computeProof(secret, 'acceptor', n1, n2, 'warren@a', 'warren@b'),
    computeProof(secret, 'dialer', n2, n1, 'warren@a', 'warren@b'),
    computeProof(secret, 'dialer', n1, n2, 'warren@b', 'warren@a'),
    computeProof(secret, 'dialer', n1, n2, 'warren@', 'awarren@b'),
  ]) {
    assert.equal(proofMatches(base, other), false);
  }
  assert.equal(proofMatches(base, base.subarray(0, 31)), false);
});
