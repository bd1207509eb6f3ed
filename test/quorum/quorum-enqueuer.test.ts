// The forwarding side of quorum queue publishes sent again (cluster/quorum/enqueuer.ts),
// against a recording host: numbers and floors, a send again of everything unconfirmed in
// order when the leader moves or refuses, late nacks of an earlier send ignored, a nack
// only after the hold time without a leader, and untracked publishes past the bound.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Enqueuer, HOLD_MS, type EnqueuerHost } from '../../cluster/quorum/enqueuer';
import type { ResendParts } from '../../cluster/forward/resend-parts';
import type { ConfirmParts } from '../../src/broker/ports';
import { Message, type EnqueueOrigin } from '../../src/broker/message';

interface Sent {
  node: string;
  key: string;
  parts: ResendParts;
  seq: number;
  origin: EnqueueOrigin;
}

function setup(): { e: Enqueuer; sent: Sent[]; outcomes: Map<number, boolean>; host: { target: string | undefined }; publish: (n: number) => boolean } {
  const sent: Sent[] = [];
  const host = { target: 'a' as string | undefined };
  const h: EnqueuerHost = {
    self: 'me',
    target: () => host.target,
    sendTo: (node, message, parts, seq, origin) => void sent.push({ node, key: message.routingKey, parts, seq, origin }),
    takeLocal: (message, parts, seq, origin) => (sent.push({ node: 'me', key: message.routingKey, parts, seq, origin }), true),
  };
  const outcomes = new Map<number, boolean>();
  const confirm: ConfirmParts = { hold: () => undefined, partDone: (seq, ok) => void outcomes.set(seq, ok) };
  const e = new Enqueuer(h);
  const publish = (n: number) => e.send(new Message('', `m${n}`, Buffer.from([0, 0]), Buffer.from('x')), confirm, n);
  return { e, sent, outcomes, host, publish };
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('numbers and floors; a leader change sends every unconfirmed publish again, in order; the old leader\'s late nack does not count', () => {
  const { e, sent, outcomes, host, publish } = setup();
  for (let n = 1; n <= 4; n++) publish(n);
  assert.deepEqual(sent.map((s) => [s.node, s.origin.seq, s.origin.floor]), [['a', 1, 0], ['a', 2, 0], ['a', 3, 0], ['a', 4, 0]]);
  assert.equal(sent[0].origin.enqueuer, e.id);
  sent[1].parts.partDone(2, true);
  assert.equal(outcomes.get(2), true);
  const toA = sent.splice(0);
  host.target = 'b';
  e.leaderMoved();
  assert.deepEqual(sent.map((s) => [s.node, s.key, s.origin.seq, s.origin.floor]), [['b', 'm1', 1, 0], ['b', 'm3', 3, 0], ['b', 'm4', 4, 0]]);
  // a nacks m1 late (its unknown outcome timed out): b's answer decides.
  toA[0].parts.partDone(1, false);
  assert.equal(outcomes.has(1), false);
  sent[0].parts.partDone(1, true);
  // An ok from any send counts (the old leader's entry was committed).
  toA[2].parts.partDone(3, true);
  assert.deepEqual([...outcomes], [[2, true], [1, true], [3, true]]);
  // The floor follows the lowest unconfirmed.
  publish(5);
  assert.deepEqual([sent.at(-1)!.origin.seq, sent.at(-1)!.origin.floor], [5, 3]);
  assert.equal(e.size, 2);
});

test('a refusal sends everything unconfirmed again shortly, to the leader known then; publishes meanwhile wait behind it', async () => {
  const { sent, outcomes, publish } = setup();
  publish(1);
  publish(2);
  const first = sent.splice(0);
  first[0].parts.partResend(1);
  publish(3);
  assert.equal(sent.length, 0, 'held behind the refused one');
  await tick(40);
  assert.deepEqual(sent.map((s) => s.key), ['m1', 'm2', 'm3']);
  // The refusal of an earlier round no longer counts.
  first[1].parts.partResend(2);
  await tick(40);
  assert.equal(sent.length, 3);
  for (const s of sent) s.parts.partDone(s.seq, true);
  assert.deepEqual([...outcomes.values()], [true, true, true]);
});

test('no leader within the hold time: nacked; a leader in time: sent', { timeout: HOLD_MS * 3 }, async () => {
  const { e, sent, outcomes, host, publish } = setup();
  host.target = undefined;
  publish(1);
  await tick(200);
  host.target = 'c';
  await tick(100);
  assert.deepEqual(sent.map((s) => [s.node, s.key]), [['c', 'm1']]);
  host.target = undefined;
  e.leaderMoved();
  publish(2);
  await tick(HOLD_MS + 300);
  assert.deepEqual([...outcomes], [[1, false], [2, false]]);
  assert.equal(e.size, 0);
});

test('this node became the leader: its unconfirmed publishes are proposed here; close nacks what is left', () => {
  const { e, sent, outcomes, host, publish } = setup();
  publish(1);
  host.target = 'me';
  e.leaderMoved();
  assert.deepEqual(sent.map((s) => [s.node, s.key]), [['a', 'm1'], ['me', 'm1']]);
  e.close();
  assert.deepEqual([...outcomes], [[1, false]]);
  assert.equal(publish(2), false, 'closed: the caller forwards it untracked');
});

test('the hold time counts only while no leader is reachable: a publish refused twice, with a leader between, is sent to the next one, not nacked', { timeout: HOLD_MS * 4 }, async () => {
  // A rolling restart on a loaded machine: refused by a leader handing over, no leader for a
  // while, sent to the next one, refused again by it (its own handover), no leader for a
  // while: longer than HOLD_MS since the first refusal, never HOLD_MS without a leader.
  const { sent, outcomes, host, publish } = setup();
  publish(1);
  host.target = undefined;
  sent.splice(0)[0].parts.partResend(1);
  await tick(HOLD_MS * 0.55);
  host.target = 'b';
  await tick(100);
  assert.deepEqual(sent.map((s) => [s.node, s.key]), [['b', 'm1']]);
  host.target = undefined;
  sent.splice(0)[0].parts.partResend(1);
  await tick(HOLD_MS * 0.55);
  host.target = 'c';
  await tick(100);
  assert.deepEqual(sent.map((s) => [s.node, s.key]), [['c', 'm1']], 'sent to the next leader');
  assert.equal(outcomes.has(1), false, 'not nacked');
  sent[0].parts.partDone(1, true);
  assert.deepEqual([...outcomes], [[1, true]]);
});
