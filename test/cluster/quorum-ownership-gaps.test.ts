// Quorum queue ownership where the log alone does not say who holds a message, with real
// processes in four network namespaces (three members and a consumer's node that is not one):
// - deliveries of a leader whose checkouts it could not commit (its followers cut off), then
//   killed: the consumer's node reports what its consumer holds and the new leader keeps those
//   for it rather than delivering them again;
// - basic.cancel with the channel open: the messages the consumer held under the old leader
//   stay with the channel, acknowledgeable (RabbitMQ's behaviour), not returned at once;
// - basic.get with manual ack is a checkout: the new leader keeps the message for the
//   getting channel, which acks it by log id.
// Needs root and `ip netns`; skipped with the reason otherwise.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type * as amqp from 'amqplib';
import { netnsUnavailableReason } from './netns-cluster';
import { useQuorumTestCluster } from './quorum-test-cluster';
import { channel, confirmChannel, consume, get, timed } from './clustered-support';
import { sleep, waitFor } from './cluster-support';

const unavailable = netnsUnavailableReason();
const QQ = { 'x-queue-type': 'quorum', 'x-quorum-initial-group-size': 3 };
const names = (ms: amqp.Message[]) => ms.map((m) => m.content.toString());

describe('quorum queue ownership the log lacks (4 nodes)', { skip: unavailable ?? false, timeout: 180_000 }, () => {
  // A 200 ms Raft tick: a leader cut from its followers keeps leading for a second or so.
  const qc = useQuorumTestCluster({ WARREN_QUORUM_TICK_MS: '200' }, 4);
  const url = qc.url;
  const name = (i: number) => qc.cluster.nodes[i].name;

  const placement = (q: string, via: number): { leader: string; members: string[] } | undefined => {
    const line = qc.cluster.ctl(via, ['list_queues', 'name', 'leader', 'members', '--no-table-headers', '-q']).stdout.split('\n').find((l) => l.startsWith(`${q}\t`));
    if (!line) return undefined;
    const [, leader, members] = line.split('\t');
    return { leader, members: members.split(',').filter((m) => m !== '') };
  };

  /** Declares `q` through node 0 (its leader) and returns the members' and the non-member's indexes. */
  async function declare(q: string): Promise<{ followers: number[]; outsider: number }> {
    const ch = await channel(url(0));
    await ch.assertQueue(q, { durable: true, arguments: QQ });
    const p = await waitFor(`${q} led by node 0 with 3 members`, () => {
      const x = placement(q, 0);
      return x && x.leader === name(0) && x.members.length === 3 ? x : undefined;
    });
    const idx = [0, 1, 2, 3];
    const followers = idx.filter((i) => i !== 0 && p!.members.includes(name(i)));
    const outsider = idx.find((i) => !p!.members.includes(name(i)))!;
    return { followers, outsider };
  }

  async function publish(q: string, n: number, via: number): Promise<void> {
    const pub = await confirmChannel(url(via));
    for (let i = 0; i < n; i++) pub.sendToQueue(q, Buffer.from(`m${i}`), { persistent: true });
    await timed(pub.waitForConfirms(), 10_000, 'confirms');
    await pub.close();
  }

  async function newLeader(q: string, via: number, old: string): Promise<string> {
    const l = await waitFor('a new leader', () => {
      const x = placement(q, via)?.leader;
      return x !== undefined && x !== '' && x !== old ? x : undefined;
    }, 20_000, 100);
    return l!;
  }

  test("the old leader's deliveries whose checkouts it never committed are not delivered again: the consumer's node reports them", async () => {
    const q = 'qq.gaps.lost';
    const { followers, outsider } = await declare(q);
    await publish(q, 30, outsider);
    const ch = await channel(url(outsider));
    await ch.prefetch(10);
    // The followers are cut off: the leader still delivers, but no checkout reaches them.
    for (const f of followers) qc.cluster.setLink(f, false);
    let c;
    try {
      c = await consume(ch, q, { manual: true });
      await c.until(10, 3000);
      assert.equal(c.messages.length, 10, 'the leader cut from its followers delivered a prefetch window');
      await qc.cluster.kill9(0);
      // The followers see the old leader down (and close their links to it) before they return,
      // so nothing it sent them in its last moments reaches them.
      await sleep(5000);
    } finally {
      for (const f of followers) qc.cluster.setLink(f, true);
    }
    const held = c.messages.splice(0);
    await newLeader(q, outsider, name(0));
    // The consumer follows the new leader; what it holds is not delivered again.
    await sleep(1500);
    for (const m of held) ch.ack(m);
    const rest: amqp.ConsumeMessage[] = [];
    const poll = setInterval(() => {
      for (const m of c.messages.splice(0)) {
        rest.push(m);
        ch.ack(m);
      }
    }, 20);
    try {
      await waitFor('the other 20', () => rest.length >= 20, 15_000, 50);
      await sleep(1000);
    } finally {
      clearInterval(poll);
    }
    const all = [...names(held), ...names(rest)];
    const dup = all.filter((s, i) => all.indexOf(s) !== i);
    assert.deepEqual(dup, [], `delivered twice (${all.length} deliveries in all)`);
    assert.deepEqual([...all].sort(), Array.from({ length: 30 }, (_, i) => `m${i}`).sort(), 'every message once');
    await sleep(300);
    assert.equal((await (await channel(url(followers[0]))).checkQueue(q)).messageCount, 0);
    await ch.close();
  });

  test("basic.cancel keeps the consumer's held messages with its channel (acknowledgeable); basic.get with manual ack is a checkout", async () => {
    if (!qc.cluster.nodes[0].proc.running) await qc.cluster.restart(0);
    const q = 'qq.gaps.cancel';
    const { followers, outsider } = await declare(q);
    await publish(q, 30, outsider);
    // G gets 3 with manual ack, A consumes 10 (prefetch 10), both on the node that is not a member.
    const chG = await channel(url(outsider));
    const got: amqp.GetMessage[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await get(chG, q);
      assert.ok(m, 'basic.get');
      got.push(m);
    }
    const chA = await channel(url(outsider));
    await chA.prefetch(10);
    const a = await consume(chA, q, { manual: true });
    await a.until(10, 10_000);
    const heldA = a.messages.splice(0);
    assert.equal(heldA.length, 10);
    // Checkouts committed.
    await sleep(800);
    await qc.cluster.kill9(0);
    await newLeader(q, outsider, name(0));
    await sleep(1500);
    // A is cancelled, its channel open: what it held stays with the channel.
    await a.cancel();
    const chC = await channel(url(followers[0]));
    const c = await consume(chC, q, { noAck: true });
    await sleep(1000);
    for (const m of heldA) chA.ack(m);
    for (const m of got) chG.ack(m);
    await c.until(17, 15_000);
    await sleep(1500);
    const others = names(c.messages);
    const mine = [...names(heldA), ...names(got)];
    for (const s of others) assert.ok(!mine.includes(s), `${s}, held by A or got by G, was delivered to another consumer (${JSON.stringify(others)})`);
    assert.equal(others.length, 17, `the others got ${JSON.stringify(others)}`);
    // Their acks were taken: closing the channels gives nothing back.
    await chA.close();
    await chG.close();
    await sleep(1000);
    assert.equal(c.messages.length, 17, `after the channels closed: ${JSON.stringify(names(c.messages))}`);
    assert.equal((await (await channel(url(followers[0]))).checkQueue(q)).messageCount, 0);
  });
});
