// Quorum queues (issue 10) with real processes: three nodes in three network namespaces.
// A quorum queue is a Raft group on its members; the leader holds the live queue and every
// other node reaches it as it reaches a classic queue's home. Each test names the nodes it
// uses: L (the leader, where the queue was declared), P (publisher's node), C (consumer's node).
// Needs root and `ip netns`; skipped with the reason otherwise.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { netnsUnavailableReason } from './netns-cluster';
import { useQuorumTestCluster } from './quorum-test-cluster';
import { attempt, channel, confirmChannel, consume, timed } from './clustered-support';
import { sleep, waitFor } from './cluster-support';
import { ConfirmedWorkload } from '../../bench/drills/confirmed-workload';

const unavailable = netnsUnavailableReason();
const QQ = { 'x-queue-type': 'quorum' };

describe('quorum queues across three network namespaces', { skip: unavailable ?? false, timeout: 240_000 }, () => {
  const qc = useQuorumTestCluster();
  const url = qc.url;

  test('RabbitMQ refusals: exclusive, non-durable, auto-delete, server-named, x-max-priority, bad group size', async () => {
    const cases: [string, (ch: Awaited<ReturnType<typeof channel>>) => Promise<unknown>, string][] = [
      ['exclusive', (ch) => ch.assertQueue('qq.bad.x', { durable: true, exclusive: true, arguments: QQ }), "PRECONDITION_FAILED - invalid property 'exclusive-owner' for queue 'qq.bad.x' in vhost '/'"],
      ['non-durable', (ch) => ch.assertQueue('qq.bad.d', { durable: false, arguments: QQ }), "PRECONDITION_FAILED - invalid property 'non-durable' for queue 'qq.bad.d' in vhost '/'"],
      ['auto-delete', (ch) => ch.assertQueue('qq.bad.a', { durable: true, autoDelete: true, arguments: QQ }), "PRECONDITION_FAILED - invalid property 'auto-delete' for queue 'qq.bad.a' in vhost '/'"],
      ['server-named', (ch) => ch.assertQueue('', { durable: true, arguments: QQ }), 'PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_quorum_queue'],
      ['x-max-priority', (ch) => ch.assertQueue('qq.bad.p', { durable: true, arguments: { ...QQ, 'x-max-priority': 5 } }), "PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue 'qq.bad.p' in vhost '/' of queue type rabbit_quorum_queue"],
      ['group size 0', (ch) => ch.assertQueue('qq.bad.g', { durable: true, arguments: { ...QQ, 'x-quorum-initial-group-size': 0 } }), "PRECONDITION_FAILED - invalid arg 'x-quorum-initial-group-size' for queue 'qq.bad.g' in vhost '/': {value_zero,0}"],
    ];
    for (const [what, op, text] of cases) {
      const r = await attempt(url(0), op);
      assert.ok(r.outcome.includes(`406 (PRECONDITION-FAILED) with message "${text}"`), `${what}: ${r.outcome}`);
    }
  });

  test('declared on L: publish with confirms on P, consume on C, in order; basic.get on P; list_queues shows type, leader and members', async () => {
    const ch0 = await channel(url(0));
    const ok = await ch0.assertQueue('qq.basic', { durable: true, arguments: QQ });
    assert.equal(ok.messageCount, 0);
    const pub = await confirmChannel(url(1));
    for (let i = 0; i < 200; i++) pub.sendToQueue('qq.basic', Buffer.from(`m${i}`), { persistent: true });
    await timed(pub.waitForConfirms(), 10_000, 'confirms');
    const got = await timed((await channel(url(1))).get('qq.basic', { noAck: true }), 5000, 'basic.get');
    assert.ok(got, 'basic.get on P returns a message');
    assert.equal(got.content.toString(), 'm0');
    const c = await consume(await channel(url(2)), 'qq.basic');
    const msgs = await c.until(199, 10_000);
    assert.deepEqual(msgs.map((m) => m.content.toString()), Array.from({ length: 199 }, (_, i) => `m${i + 1}`));
    // The declaring node is the preferred leader (client-local): leadership moves there if another member won the first election.
    const line = await waitFor('leader on L in list_queues', () => {
      const rows = qc.cluster.ctl(1, ['list_queues', 'name', 'type', 'leader', 'members']);
      assert.equal(rows.code, 0, rows.stderr);
      const l = rows.stdout.split('\n').find((x) => x.startsWith('qq.basic\t'));
      if (!l || l.split('\t')[2] !== qc.cluster.nodes[0].name) throw new Error(rows.stdout);
      return l;
    });
    const [, type, , members] = line.split('\t');
    assert.equal(type, 'quorum');
    assert.deepEqual(members.split(',').sort(), qc.cluster.nodes.map((n) => n.name).sort());
  });

  test('a requeued message comes back with x-delivery-count; past x-delivery-limit it is dead-lettered', async () => {
    const ch = await channel(url(1));
    await ch.assertQueue('qq.dlq', { durable: true });
    await ch.assertQueue('qq.limit', { durable: true, arguments: { ...QQ, 'x-delivery-limit': 2, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'qq.dlq' } });
    const pub = await confirmChannel(url(2));
    pub.sendToQueue('qq.limit', Buffer.from('poison'), { persistent: true });
    await timed(pub.waitForConfirms(), 5000, 'confirm');
    const counts: (number | undefined)[] = [];
    const sub = await channel(url(2));
    await new Promise<void>((resolve) => {
      void sub.consume('qq.limit', (m) => {
        if (!m) return;
        counts.push(m.properties.headers?.['x-delivery-count'] as number | undefined);
        sub.nack(m, false, true);
        if (counts.length === 3) resolve();
      });
    });
    assert.deepEqual(counts, [undefined, 1, 2]);
    const dead = await waitFor('dead-lettered poison message', async () => {
      const g = await (await channel(url(0))).get('qq.dlq', { noAck: true });
      if (!g) throw new Error('not yet');
      return g;
    });
    assert.equal(dead.content.toString(), 'poison');
  });

  test('x-max-length: drop-head drops the oldest; reject-publish nacks at the limit', async () => {
    const ch = await channel(url(0));
    await ch.assertQueue('qq.len.drop', { durable: true, arguments: { ...QQ, 'x-max-length': 3 } });
    await ch.assertQueue('qq.len.reject', { durable: true, arguments: { ...QQ, 'x-max-length': 3, 'x-overflow': 'reject-publish' } });
    const pub = await confirmChannel(url(1));
    for (let i = 0; i < 5; i++) pub.sendToQueue('qq.len.drop', Buffer.from(`d${i}`), { persistent: true });
    await timed(pub.waitForConfirms(), 5000, 'confirms (drop-head)');
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) {
      outcomes.push(await new Promise<string>((resolve) => pub.sendToQueue('qq.len.reject', Buffer.from(`r${i}`), { persistent: true }, (err) => resolve(err ? 'nack' : 'ack'))));
    }
    assert.deepEqual(outcomes, ['ack', 'ack', 'ack', 'nack', 'nack']);
    const sub = await channel(url(2));
    const drop = await consume(sub, 'qq.len.drop');
    assert.deepEqual((await drop.until(3, 5000)).map((m) => m.content.toString()), ['d2', 'd3', 'd4']);
    const rej = await consume(sub, 'qq.len.reject');
    assert.deepEqual((await rej.until(3, 5000)).map((m) => m.content.toString()), ['r0', 'r1', 'r2']);
  });

  test('message TTL: an expired message is dead-lettered with reason expired', async () => {
    const ch = await channel(url(1));
    await ch.assertQueue('qq.ttl.dlq', { durable: true });
    await ch.assertQueue('qq.ttl', { durable: true, arguments: { ...QQ, 'x-message-ttl': 200, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'qq.ttl.dlq' } });
    const pub = await confirmChannel(url(2));
    pub.sendToQueue('qq.ttl', Buffer.from('short-lived'), { persistent: true });
    await timed(pub.waitForConfirms(), 5000, 'confirm');
    const dead = await waitFor('expired message in the DLQ', async () => {
      const g = await (await channel(url(0))).get('qq.ttl.dlq', { noAck: true });
      if (!g) throw new Error('not yet');
      return g;
    });
    assert.equal(dead.content.toString(), 'short-lived');
    assert.equal((dead.properties.headers?.['x-death'] as { reason: string }[])[0].reason, 'expired');
    assert.equal((await ch.checkQueue('qq.ttl')).messageCount, 0);
  });

  test('x-quorum-initial-group-size 2: the node that is not a member publishes, consumes and gets through the leader', async () => {
    const ch = await channel(url(0));
    await ch.assertQueue('qq.two', { durable: true, arguments: { ...QQ, 'x-quorum-initial-group-size': 2 } });
    const rows = qc.cluster.ctl(0, ['list_queues', 'name', 'members', '--no-table-headers', '-q']).stdout;
    const members = (rows.split('\n').find((l) => l.startsWith('qq.two\t')) ?? '').split('\t')[1].split(',');
    assert.equal(members.length, 2, rows);
    assert.ok(members.includes(qc.cluster.nodes[0].name), 'the declaring node is a member');
    const outside = qc.cluster.nodes.findIndex((n) => !members.includes(n.name));
    const pub = await confirmChannel(url(outside));
    for (let i = 0; i < 20; i++) pub.sendToQueue('qq.two', Buffer.from(`t${i}`), { persistent: true });
    await timed(pub.waitForConfirms(), 10_000, 'confirms through a non-member');
    const got = await timed((await channel(url(outside))).get('qq.two', { noAck: true }), 10_000, 'basic.get on a non-member');
    assert.ok(got && got.content.toString() === 't0');
    const c = await consume(await channel(url(outside)), 'qq.two');
    assert.deepEqual((await c.until(19, 10_000)).map((m) => m.content.toString()), Array.from({ length: 19 }, (_, i) => `t${i + 1}`));
    const status = qc.cluster.ctl(outside, ['quorum_status', 'qq.two', '--no-table-headers', '-q']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(status.stdout.trim().split('\n').length, 2);
  });

  test('x-expires: an unused quorum queue is deleted when its lease runs out', async () => {
    await (await channel(url(1))).assertQueue('qq.expires', { durable: true, arguments: { ...QQ, 'x-expires': 1000 } });
    await waitFor('qq.expires deleted on every node', async () => {
      for (let i = 0; i < 3; i++) if ((await attempt(url(i), (c) => c.checkQueue('qq.expires'))).outcome === 'ok') return false;
      return true;
    }, 10_000, 250);
  });

  test('single active consumer: the second consumer receives only once the first is cancelled; basic.get is refused with 405', async () => {
    const ch = await channel(url(0));
    await ch.assertQueue('qq.sac', { durable: true, arguments: { ...QQ, 'x-single-active-consumer': true } });
    const first = await consume(await channel(url(1)), 'qq.sac');
    const second = await consume(await channel(url(2)), 'qq.sac');
    const pub = await confirmChannel(url(0));
    for (let i = 0; i < 3; i++) pub.sendToQueue('qq.sac', Buffer.from(`s${i}`), { persistent: true });
    await timed(pub.waitForConfirms(), 5000, 'confirms');
    assert.equal((await first.until(3, 5000)).length, 3);
    assert.equal(second.messages.length, 0);
    await first.cancel();
    pub.sendToQueue('qq.sac', Buffer.from('s3'), { persistent: true });
    await timed(pub.waitForConfirms(), 5000, 'confirm');
    assert.deepEqual((await second.until(1, 5000)).map((m) => m.content.toString()), ['s3']);
    const r = await attempt(url(1), (c) => c.get('qq.sac'));
    assert.ok(r.outcome.includes('405 (RESOURCE-LOCKED)') && r.outcome.includes('basic.get operations are not supported by <<"quorum">> queues with single active consumer'), r.outcome);
  });

  test('warrenctl quorum_status, delete_member, add_member, shrink, grow, rebalance', async () => {
    const ch = await channel(url(0));
    await ch.assertQueue('qq.ops', { durable: true, arguments: QQ });
    const pub = await confirmChannel(url(0));
    for (let i = 0; i < 10; i++) pub.sendToQueue('qq.ops', Buffer.from(`o${i}`), { persistent: true });
    await timed(pub.waitForConfirms(), 5000, 'confirms');
    const names = qc.cluster.nodes.map((n) => n.name);
    const statusRows = (i: number) => {
      const r = qc.cluster.ctl(i, ['quorum_status', 'qq.ops', '--no-table-headers', '-q']);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim().split('\n').map((l) => l.split('\t'));
    };
    await waitFor('every member caught up', () => {
      const rows = statusRows(1);
      assert.deepEqual(rows.map((r) => r[0]).sort(), [...names].sort());
      assert.deepEqual(rows.map((r) => r[1]).sort(), ['follower', 'follower', 'leader']);
      assert.equal(new Set(rows.map((r) => r[5])).size, 1, `commit index differs: ${JSON.stringify(rows)}`);
      return true;
    });
    const members = () => {
      const r = qc.cluster.ctl(0, ['list_queues', 'name', 'members', '--no-table-headers', '-q']);
      return (r.stdout.split('\n').find((l) => l.startsWith('qq.ops\t')) ?? '').split('\t')[1]?.split(',').sort() ?? [];
    };
    let r = qc.cluster.ctl(1, ['delete_member', 'qq.ops', names[2]]);
    assert.equal(r.code, 0, r.stderr);
    const sameAs = (want: string[]) => () => (assert.deepEqual(members(), [...want].sort()), true);
    await waitFor('two members', sameAs([names[0], names[1]]));
    r = qc.cluster.ctl(2, ['add_member', 'qq.ops', names[2]]);
    assert.equal(r.code, 0, r.stderr);
    await waitFor('three members again', sameAs(names));
    // The member added back receives the log: its applied index reaches the others'.
    await waitFor('the new member caught up', () => {
      const rows = statusRows(2);
      const mine = rows.find((x) => x[0] === names[2])!;
      assert.equal(mine[1], 'follower');
      assert.equal(mine[4], rows.find((x) => x[1] === 'leader')![4]);
      return true;
    });
    r = qc.cluster.ctl(0, ['shrink', names[1], '--no-table-headers', '-q']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /qq\.ops\t2\tok/);
    r = qc.cluster.ctl(0, ['grow', names[1], 'all', '/', '^qq\\.ops$', '--no-table-headers', '-q']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /qq\.ops\t3\tok/);
    r = qc.cluster.ctl(0, ['rebalance', 'quorum']);
    assert.equal(r.code, 0, r.stderr);
    r = qc.cluster.ctl(0, ['delete_member', 'qq.basic', names[0]]);
    assert.equal(r.code, 0, r.stderr);
    r = qc.cluster.ctl(0, ['add_member', 'qq.none', names[0]]);
    assert.notEqual(r.code, 0);
    // Every message is still there.
    const c = await consume(await channel(url(1)), 'qq.ops');
    assert.equal((await c.until(10, 10_000)).length, 10);
  });

  test('the leader cut off for 6 s under a confirmed workload: the majority elects a leader and goes on, nothing confirmed is lost, the cut member catches up', async () => {
    const ch = await channel(url(0));
    await ch.assertQueue('qq.cut', { durable: true, arguments: QQ });
    await waitFor('leader on L', () => qc.cluster.ctl(1, ['list_queues', 'name', 'leader', '--no-table-headers', '-q']).stdout.includes(`qq.cut\t${qc.cluster.nodes[0].name}`));
    const w = new ConfirmedWorkload({ publishUrl: url(1), consumeUrl: url(2), queue: 'qq.cut', ratePerSec: 500, bodyBytes: 64 });
    await w.start();
    await sleep(1000);
    w.resetStalls();
    await sleep(1000);
    qc.cluster.setLink(0, false);
    await sleep(6000);
    qc.cluster.setLink(0, true);
    await sleep(3000);
    const report = await w.stop(15_000);
    console.log(JSON.stringify({ drill: 'partition-one', cutMs: 6000, ...report }));
    assert.equal(report.lost, 0, 'confirmed messages lost');
    assert.deepEqual(report.consumerErrors, []);
    assert.deepEqual(report.publisherErrors, []);
    assert.ok(report.longestConfirmStallMs < 3000, `confirms stalled ${report.longestConfirmStallMs} ms`);
    // After the heal every member has applied the same log.
    await waitFor('members converged', () => {
      const r = qc.cluster.ctl(1, ['quorum_status', 'qq.cut', '--no-table-headers', '-q']);
      const rows = r.stdout.trim().split('\n').map((l) => l.split('\t'));
      assert.equal(rows.length, 3, r.stdout + r.stderr);
      assert.equal(new Set(rows.map((x) => x[4])).size, 1, r.stdout);
      assert.ok(rows.every((x) => x[1] === 'leader' || x[1] === 'follower'), r.stdout);
      // Snapshots every 64 entries: every member, the cut one too, holds one by now.
      assert.ok(rows.every((x) => Number(x[6]) > 0), `snapshot index: ${r.stdout}`);
      return true;
    }, 20_000);
  });

  test('kill -9 of the leader under a confirmed workload: a member takes over, the consumer on C keeps consuming, nothing confirmed is lost', async () => {
    const ch = await channel(url(0));
    await ch.assertQueue('qq.drill', { durable: true, arguments: QQ });
    await waitFor('leader on L', () => qc.cluster.ctl(1, ['list_queues', 'name', 'leader', '--no-table-headers', '-q']).stdout.includes(`qq.drill\t${qc.cluster.nodes[0].name}`));
    const w = new ConfirmedWorkload({ publishUrl: url(1), consumeUrl: url(2), queue: 'qq.drill', ratePerSec: 500, bodyBytes: 64 });
    await w.start();
    await sleep(2000);
    w.resetStalls();
    await sleep(1000);
    const killedAt = Date.now();
    await qc.cluster.kill9(0);
    await sleep(4000);
    const report = await w.stop(15_000);
    console.log(JSON.stringify({ drill: 'kill-leader', killedAtMs: killedAt, ...report }));
    assert.equal(report.lost, 0, 'confirmed messages lost');
    assert.deepEqual(report.consumerErrors, []);
    assert.deepEqual(report.publisherErrors, []);
    assert.ok(report.confirmed > 1000, `confirmed ${report.confirmed}`);
    assert.ok(report.longestConfirmStallMs < 3000, `confirms stalled ${report.longestConfirmStallMs} ms`);
    await qc.cluster.restart(0);
    // The restarted member catches up with the others (its WAL replayed, the rest sent by the leader).
    const r = await attempt(url(0), (c) => c.checkQueue('qq.drill'));
    assert.equal(r.outcome, 'ok');
    await waitFor('the restarted member caught up', () => {
      const s = qc.cluster.ctl(0, ['quorum_status', 'qq.drill', '--no-table-headers', '-q']);
      const rows = s.stdout.trim().split('\n').map((l) => l.split('\t'));
      assert.equal(rows.length, 3, s.stdout + s.stderr);
      // A follower, or the leader again: leadership returns to its preferred node 3 s after it is back.
      assert.ok(['follower', 'leader'].includes(rows.find((x) => x[0] === qc.cluster.nodes[0].name)?.[1] ?? ''), s.stdout);
      assert.equal(new Set(rows.map((x) => x[4])).size, 1, s.stdout);
      return true;
    }, 20_000);
  });
});
