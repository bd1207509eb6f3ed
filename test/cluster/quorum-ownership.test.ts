// Quorum queue consumer ownership across a leader's kill -9, with real processes in three
// network namespaces: which consumer holds which message is in the log, so the new leader
// keeps a surviving consumer's unacked messages for it (no duplicates), takes its acks by log
// id, and gives them back only when it goes (here: its channel closes).
// Needs root and `ip netns`; skipped with the reason otherwise.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type * as amqp from 'amqplib';
import { netnsUnavailableReason } from './netns-cluster';
import { useQuorumTestCluster } from './quorum-test-cluster';
import { channel, confirmChannel, consume, timed } from './clustered-support';
import { sleep, waitFor } from './cluster-support';

const unavailable = netnsUnavailableReason();
const QQ = { 'x-queue-type': 'quorum' };

describe('quorum queue ownership across a leader kill -9', { skip: unavailable ?? false, timeout: 120_000 }, () => {
  const qc = useQuorumTestCluster();
  const url = qc.url;

  test('consumers on C hold unacked messages; L killed: A acks its own on the new leader with no duplicates, B closes its channel and its messages come back; nothing lost', async () => {
    const q = 'qq.own';
    // Message TTL counts from the enqueue on the old leader: a message with 3 s to live when
    // published, 2.5 s before the kill, is dead-lettered about 3 s after it was published.
    const ch0 = await channel(url(0));
    // The dead-letter queue is a classic queue homed on P (node 2), which survives.
    const chD = await channel(url(1));
    await chD.assertQueue('qq.own.dlq', { durable: true });
    await ch0.assertQueue('qq.own.ttl', { durable: true, arguments: { ...QQ, 'x-message-ttl': 3000, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'qq.own.dlq' } });
    await ch0.assertQueue(q, { durable: true, arguments: QQ });
    const leaderOf = () => qc.cluster.ctl(1, ['list_queues', 'name', 'leader', '--no-table-headers', '-q']).stdout.split('\n').find((l) => l.startsWith(`${q}\t`))?.split('\t')[1];
    await waitFor('leader on L', () => leaderOf() === qc.cluster.nodes[0].name);
    // A and B: two channels on C (node 3), prefetch 20 each, acking nothing yet.
    const chA = await channel(url(2));
    const chB = await channel(url(2));
    await chA.prefetch(20);
    await chB.prefetch(20);
    const a = await consume(chA, q, { manual: true });
    const b = await consume(chB, q, { manual: true });
    const pub = await confirmChannel(url(1));
    const ttlAt = Date.now();
    pub.sendToQueue('qq.own.ttl', Buffer.from('ttl'), { persistent: true });
    for (let i = 0; i < 60; i++) pub.sendToQueue(q, Buffer.from(`m${i}`), { persistent: true });
    await timed(pub.waitForConfirms(), 10_000, 'confirms');
    await a.until(20, 10_000);
    await b.until(20, 10_000);
    assert.equal(a.messages.length, 20);
    assert.equal(b.messages.length, 20);
    const heldByA = a.messages.map((m) => m.content.toString());
    const heldByB = b.messages.map((m) => m.content.toString());
    // The checkouts are committed within a few milliseconds; leave them time on a loaded machine.
    await sleep(Math.max(500, ttlAt + 2500 - Date.now()));

    const killAfter = Date.now() - ttlAt;
    await qc.cluster.kill9(0);
    const dead = waitFor('the TTL message dead-lettered', async () => (await chD.get('qq.own.dlq', { noAck: true })) || undefined, 15_000, 50).then((m) => ({ m, after: Date.now() - ttlAt }));
    await waitFor('a new leader', () => {
      const l = leaderOf();
      return l !== undefined && l !== '' && l !== qc.cluster.nodes[0].name;
    }, 15_000, 50);

    // C2 on P (node 2) acks whatever it gets; A acks what it held, then everything it gets.
    const chC = await channel(url(1));
    const c = await consume(chC, q);
    for (const m of a.messages.splice(0)) chA.ack(m);
    // What A and C receive after the failover.
    const gotA: amqp.ConsumeMessage[] = [];
    const pollA = setInterval(() => {
      for (const m of a.messages.splice(0)) {
        gotA.push(m);
        chA.ack(m);
      }
    }, 20);
    const received = () => [...gotA, ...c.messages];
    const names = (ms: amqp.ConsumeMessage[]) => ms.map((m) => m.content.toString());
    try {
      // The 20 never delivered go to A or C; B's 20 stay B's while its channel is open.
      await waitFor('the 20 ready messages consumed', () => received().length >= 20, 15_000, 50);
      await sleep(1000);
      const others = names(received());
      assert.equal(others.length, 20, `after the failover A and C got ${JSON.stringify(others)}`);
      for (const s of others) assert.ok(!heldByA.includes(s) && !heldByB.includes(s), `${s}, held by a consumer on C, was delivered again`);

      // B's channel closes: its 20 come back (redelivered), at once rather than after the hold time.
      const closedAt = Date.now();
      await timed(chB.close(), 5000, 'channel.close');
      await waitFor("B's messages back", () => received().length >= 40, 4000, 20);
      const backMs = Date.now() - closedAt;
      await sleep(500);
      const all = [...heldByA, ...names(received())];
      assert.equal(all.length, 60, `delivered ${JSON.stringify(all)}`);
      assert.deepEqual([...new Set(all)].sort(), Array.from({ length: 60 }, (_, i) => `m${i}`).sort(), 'every message once (B never acked its own)');
      for (const m of received()) if (heldByB.includes(m.content.toString())) assert.equal(m.fields.redelivered, true);
      assert.ok(backMs < 3000, `B's messages came back after ${backMs} ms`);
    } finally {
      clearInterval(pollA);
    }
    const { m: deadMessage, after: deadAfter } = await dead;
    assert.equal(deadMessage && deadMessage.content.toString(), 'ttl');
    // Counted from the new leader's start it would go at least 3 s after the kill.
    console.log(`TTL message dead-lettered ${deadAfter} ms after it was published (TTL 3000 ms, leader killed after ${killAfter} ms)`);
    assert.ok(deadAfter < killAfter + 3000, `TTL message dead-lettered ${deadAfter} ms after it was published, the leader killed after ${killAfter} ms`);

    // Every ack, A's by log id on the new leader among them, was taken: nothing comes back.
    await timed(chA.close(), 5000, 'channel.close');
    await timed(chC.close(), 5000, 'channel.close');
    await sleep(300);
    const ok = await (await channel(url(1))).checkQueue(q);
    assert.equal(ok.messageCount, 0, 'messages left in the queue after every ack');
  });
});
