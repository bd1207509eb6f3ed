// Quorum queue features of RabbitMQ 4.x on three real nodes in network namespaces: message
// priorities (4.3: 32 strict levels, 4 without a priority, rebuilt by a new leader from
// the messages' properties) and x-quorum-target-group-size (continuous
// membership reconciliation grows a queue to its target, one member per round), and the
// consumer timeout (RabbitMQ 4.3's basic.cancel) for a quorum queue's consumer on a node
// that does not lead it.
// Needs root and `ip netns`; skipped with the reason otherwise.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsCluster, netnsUnavailableReason } from './netns-cluster';
import { channel, closeAll, confirmChannel, consume, timed } from './clustered-support';
import { waitFor } from './cluster-support';

const unavailable = netnsUnavailableReason();
const QQ = { 'x-queue-type': 'quorum' };
/** Bodies of 200 bytes with a member memory budget of 1 KiB: most bodies live only on disk. */
const pad = (s: string) => Buffer.from(s.padEnd(200, '.'));
const name = (m: { content: Buffer }) => m.content.toString().replace(/\.+$/, '');

describe('quorum queue priorities, target group size and consumer timeout across three network namespaces', { skip: unavailable ?? false, timeout: 180_000 }, () => {
  let cluster: NetnsCluster;
  const url = (i: number) => cluster.nodes[i].url;
  const membersOf = (queue: string, via = 0): { leader: string; members: string[] } => {
    const r = cluster.ctl(via, ['list_queues', 'name', 'leader', 'members', '--no-table-headers', '-q']);
    assert.equal(r.code, 0, r.stderr);
    const line = r.stdout.split('\n').find((l) => l.startsWith(`${queue}\t`));
    if (!line) throw new Error(`${queue} not listed: ${r.stdout}`);
    const [, leader, members] = line.split('\t');
    return { leader, members: members.split(',').filter((m) => m !== '').sort() };
  };

  before(async () => {
    cluster = new NetnsCluster({
      env: { WARREN_CLUSTER_TICK_MS: '2000', WARREN_LOG_LEVEL: 'warn', WARREN_QUORUM_MEMORY_BYTES: '1024', WARREN_QUORUM_CMR_TRIGGER_INTERVAL_MS: '300' },
    });
    await cluster.start();
  });

  after(async () => {
    await closeAll();
    await cluster?.destroy();
  });

  test('priorities: 32 strict levels, 4 without a priority; a new leader rebuilds the levels from bodies on disk', async () => {
    const ch0 = await channel(url(0));
    await ch0.assertQueue('qq.prio', { durable: true, arguments: QQ });
    await waitFor('leader on node 0', () => membersOf('qq.prio').leader === cluster.nodes[0].name);
    const pub = await confirmChannel(url(1));
    // Six low ones (no priority = 4, 0, 4, 1, 2) published before six high ones (5, 9).
    const normal = [undefined, 0, 4, undefined, 1, 2];
    normal.forEach((p, i) => pub.sendToQueue('qq.prio', pad(`n${i}`), { persistent: true, ...(p === undefined ? {} : { priority: p }) }));
    for (let i = 0; i < 6; i++) pub.sendToQueue('qq.prio', pad(`h${i}`), { persistent: true, priority: i % 2 ? 5 : 9 });
    await timed(pub.waitForConfirms(), 10_000, 'confirms');
    const c = await consume(await channel(url(2)), 'qq.prio');
    const got = await c.until(12, 10_000);
    assert.deepEqual(got.map(name), ['h0', 'h2', 'h4', 'h1', 'h3', 'h5', 'n0', 'n2', 'n3', 'n5', 'n4', 'n1']);
    await c.cancel();

    // A new leader (the old one leaves the group) builds its live queue from the replicated
    // state: bodies past the 1 KiB budget are on disk, their priorities in the state.
    for (let i = 0; i < 3; i++) pub.sendToQueue('qq.prio', pad(`N${i}`), { persistent: true });
    for (let i = 0; i < 3; i++) pub.sendToQueue('qq.prio', pad(`H${i}`), { persistent: true, priority: 7 });
    await timed(pub.waitForConfirms(), 10_000, 'confirms');
    const r = cluster.ctl(1, ['delete_member', 'qq.prio', cluster.nodes[0].name]);
    assert.equal(r.code, 0, r.stderr);
    await waitFor('a new leader', () => {
      const m = membersOf('qq.prio', 1);
      return m.leader !== '' && m.leader !== cluster.nodes[0].name && m.members.length === 2;
    });
    const c2 = await consume(await channel(url(1)), 'qq.prio');
    const again = await c2.until(6, 10_000);
    assert.deepEqual(again.map(name), ['H0', 'H1', 'H2', 'N0', 'N1', 'N2']);
    assert.ok(again.every((m) => m.fields.redelivered), 'inherited messages are marked redelivered');
    await c2.cancel();
  });

  test('x-quorum-target-group-size: a queue declared with one member grows to three, its message intact, its leader in place; a target-group-size policy does the same', async () => {
    const ch = await channel(url(1));
    await ch.assertQueue('qq.grow', { durable: true, arguments: { ...QQ, 'x-quorum-initial-group-size': 1, 'x-quorum-target-group-size': 3 } });
    const pub = await confirmChannel(url(1));
    pub.sendToQueue('qq.grow', Buffer.from('before'), { persistent: true });
    await timed(pub.waitForConfirms(), 10_000, 'confirm');
    const all = cluster.nodes.map((n) => n.name).sort();
    const grown = await waitFor('three members', () => {
      const m = membersOf('qq.grow');
      return m.members.length === 3 ? m : undefined;
    }, 20_000);
    assert.deepEqual(grown!.members, all);
    assert.equal(grown!.leader, cluster.nodes[1].name, 'reconciliation never moves the leader');
    // Every member caught up: quorum_status shows the same applied index on all three.
    await waitFor('members caught up', () => {
      const r = cluster.ctl(0, ['quorum_status', 'qq.grow', '--no-table-headers', '-q']);
      const rows = r.stdout.trim().split('\n').map((l) => l.split('\t'));
      return rows.length === 3 && rows.every((row) => row[4] !== '' && row[4] === rows[0][4]);
    });
    const c = await consume(await channel(url(2)), 'qq.grow');
    assert.deepEqual((await c.until(1, 10_000)).map((m) => m.content.toString()), ['before']);
    await c.cancel();

    // A policy: the queue has no target of its own.
    await (await channel(url(2))).assertQueue('qq.grow.p', { durable: true, arguments: { ...QQ, 'x-quorum-initial-group-size': 1 } });
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(membersOf('qq.grow.p').members.length, 1, 'no target: left alone');
    // A classic_queues policy does not apply to a quorum queue; a quorum_queues one does.
    assert.equal(cluster.ctl(0, ['set_policy', '--apply-to', 'classic_queues', 'nogrow', '^qq\\.grow\\.p$', '{"target-group-size":3}']).code, 0);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(membersOf('qq.grow.p').members.length, 1, 'a classic_queues policy: left alone');
    const r = cluster.ctl(0, ['set_policy', '--apply-to', 'quorum_queues', '--priority', '1', 'grow', '^qq\\.grow\\.p$', '{"target-group-size":3}']);
    assert.equal(r.code, 0, r.stderr);
    await waitFor('three members by policy', () => membersOf('qq.grow.p').members.length === 3, 20_000);
    assert.equal(cluster.ctl(0, ['clear_policy', 'grow']).code, 0);
    assert.equal(cluster.ctl(0, ['clear_policy', 'nogrow']).code, 0);
  });

  test('consumer timeout on a quorum queue consumed through a node that does not lead it: the consumer is cancelled (RabbitMQ 4.3), the message returns with x-delivery-count', async () => {
    const ch0 = await channel(url(0));
    await ch0.assertQueue('qq.slow', { durable: true, arguments: { ...QQ, 'x-consumer-timeout': 1000 } });
    const pub = await confirmChannel(url(0));
    pub.sendToQueue('qq.slow', Buffer.from('slow'), { persistent: true });
    await timed(pub.waitForConfirms(), 10_000, 'confirm');
    await waitFor('leader on node 0', () => membersOf('qq.slow').leader === cluster.nodes[0].name);
    const ch2 = await channel(url(2));
    const errors: Error[] = [];
    ch2.on('error', (e: Error) => errors.push(e));
    let cancelled!: () => void;
    const cancelledP = new Promise<void>((ok) => (cancelled = ok));
    const held: { fields: { deliveryTag: number } }[] = [];
    await ch2.consume('qq.slow', (m) => (m ? held.push(m) : cancelled()), { noAck: false });
    await waitFor('the delivery on node 2', () => held.length === 1, 10_000);
    const t0 = Date.now();
    // Swept every 5 s (the node's own timeout is the default 30 min): cancelled 1 to 6 s after the delivery.
    await timed(cancelledP, 10_000, 'basic.cancel from the consumer timeout');
    assert.ok(Date.now() - t0 >= 900, `cancelled after ${Date.now() - t0} ms`);
    // The channel stays open; a late ack of the returned delivery is ignored.
    ch2.ack(held[0] as never);
    await ch2.checkQueue('qq.slow');
    assert.deepEqual(errors, []);
    const again = await consume(await channel(url(1)), 'qq.slow');
    const [m] = await again.until(1, 10_000);
    assert.equal(m.content.toString(), 'slow');
    assert.equal(m.fields.redelivered, true);
    assert.equal(m.properties.headers?.['x-delivery-count'], 1);
    await again.cancel();
  });
});
