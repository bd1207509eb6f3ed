// Clustered messaging (issue 9) with real processes: three nodes in three network namespaces
// (the docker-compose layout: own address, standard ports), clients amqplib (this process and
// scripts inside the namespaces), pika and kombu (inside the namespaces). Every queue has one
// home; a publish or consume on any node reaches it. Each test names the nodes it uses as
// P (publisher's node), C (consumer's node) and H (the queue's home) when they matter.
// Needs root and `ip netns`; skipped with the reason otherwise. About 50 s.
//   npx tsc -p . && node scripts/run-tests.mjs clustered-messaging
//   WARREN_TEST_ONE_NODE=1 ...      every client on node 1: checks the assertions against single-node semantics
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type * as amqp from 'amqplib';
import { waitFor } from './cluster-support';
import { NetnsCluster, lastJson, netnsUnavailableReason } from './netns-cluster';
import { attempt, barrier, channel, closeAll, confirmChannel, consume, declareOkCounts, get, listQueuesRows, timed, via } from './clustered-support';

const unavailable = netnsUnavailableReason();
const TYPES = ['direct', 'fanout', 'topic', 'headers'] as const;
const N = [0, 1, 2];

describe('clustered messaging across three network namespaces', { skip: unavailable ?? false, timeout: 240_000 }, () => {
  let cluster: NetnsCluster;
  const url = (i: number) => cluster.nodes[via(i)].url;
  const name = (i: number) => cluster.nodes[i].name;

  before(async () => {
    cluster = new NetnsCluster({ env: { WARREN_CLUSTER_TICK_MS: '2000', WARREN_LOG_LEVEL: 'warn' } });
    await cluster.start();
  });

  after(async () => {
    await closeAll();
    await cluster?.destroy();
  });

  test('placement is client-local by default: every node lists a queue with the node it was declared on as its home', async () => {
    for (const h of N) await (await channel(url(h))).assertQueue(`home.on.${h}`, { durable: true });
    await barrier(cluster);
    for (const i of N) {
      const rows = cluster.listQueues(i, ['name', 'node']);
      for (const h of N) assert.equal(rows.find((r) => r.name === `home.on.${h}`)?.node, name(h), `list_queues on ${name(i)}: home of home.on.${h}`);
    }
  });

  test('publish on each node, consume on each other node, for direct, fanout, topic and headers exchanges, with the home on every node (amqplib)', async () => {
    const expected = new Map<string, { exchange: string; routingKey: string; consumer: number }>();
    for (const h of N) {
      const ch = await channel(url(h));
      await ch.assertExchange('m.direct', 'direct');
      await ch.assertExchange('m.topic', 'topic');
      await ch.assertExchange('m.headers', 'headers');
      for (const type of TYPES)
        for (const p of N)
          for (const c of N) {
            if (c === p) continue;
            const q = `m.${type}.p${p}.c${c}.h${h}`;
            await ch.assertQueue(q, { durable: true });
            if (type === 'direct') {
              await ch.bindQueue(q, 'm.direct', q);
              expected.set(q, { exchange: 'm.direct', routingKey: q, consumer: c });
            } else if (type === 'fanout') {
              await ch.assertExchange(`m.fanout.${q}`, 'fanout');
              await ch.bindQueue(q, `m.fanout.${q}`, '');
              expected.set(q, { exchange: `m.fanout.${q}`, routingKey: 'any', consumer: c });
            } else if (type === 'topic') {
              await ch.bindQueue(q, 'm.topic', `p${p}.c${c}.*.h${h}.#`);
              expected.set(q, { exchange: 'm.topic', routingKey: `p${p}.c${c}.mid.h${h}.a.b`, consumer: c });
            } else {
              await ch.bindQueue(q, 'm.headers', '', { 'x-match': 'all', p: `${p}`, c: `${c}`, h: `${h}` });
              expected.set(q, { exchange: 'm.headers', routingKey: '', consumer: c });
            }
          }
    }
    await barrier(cluster);
    // Consumers first, each on its C.
    const consumers = new Map<string, Awaited<ReturnType<typeof consume>>>();
    const consumerChannels = await Promise.all(N.map((c) => channel(url(c))));
    for (const [q, e] of expected) consumers.set(q, await consume(consumerChannels[e.consumer], q));
    // Then one message per queue, published on its P.
    const publishers = await Promise.all(N.map((p) => confirmChannel(url(p))));
    for (const [q, e] of expected) {
      const p = Number(/\.p(\d)\./.exec(q)![1]);
      const headers = { p: /\.p(\d)/.exec(q)![1], c: /\.c(\d)/.exec(q)![1], h: /\.h(\d)/.exec(q)![1], extra: 'x' };
      publishers[p].publish(e.exchange, e.routingKey, Buffer.from(q), { headers, mandatory: true });
    }
    await Promise.all(publishers.map((ch) => timed(ch.waitForConfirms(), 10_000, 'confirms')));
    const deadline = Date.now() + 6000;
    while ([...consumers.values()].some((c) => c.messages.length === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const wrong: string[] = [];
    for (const [q, e] of expected) {
      const got = consumers.get(q)!.messages;
      if (got.length !== 1) wrong.push(`${q}: ${got.length} deliveries on ${name(e.consumer)}`);
      else if (got[0].content.toString() !== q || got[0].fields.exchange !== e.exchange || got[0].fields.routingKey !== e.routingKey || got[0].fields.redelivered)
        wrong.push(`${q}: got ${got[0].content} via ${got[0].fields.exchange}/${got[0].fields.routingKey} redelivered=${got[0].fields.redelivered}`);
    }
    assert.deepEqual(wrong, [], `${wrong.length} of ${expected.size} queues wrong (published on P, homed on H, consumed on C), e.g.\n${wrong.slice(0, 8).join('\n')}`);
  });

  test('confirms: 200 persistent mandatory messages published with pika on node 2 to a durable queue homed on node 1 are all acked, none returned, and all there in order; unroutable ones are returned (pika)', async () => {
    await (await channel(url(0))).assertQueue('pika.confirms', { durable: true });
    await barrier(cluster);
    const r = await cluster.python(via(1), 'pika_confirms.py', [url(1), 'pika.confirms', '200', '3'], { timeoutMs: 30_000 });
    const res = lastJson<Record<string, number>>(r);
    assert.deepEqual(res, { acked: 200, nacked: 0, returned: 0, unroutable_acked: 0, unroutable_returned: 3, unroutable_nacked: 0 }, r.stderr);
    for (const c of declareOkCountsFor(await declareOkCounts(cluster, 'pika.confirms'))) assert.deepEqual(c, [200, 0]);
    const ch = await channel(url(2));
    await ch.prefetch(50);
    const got = await (await consume(ch, 'pika.confirms')).until(200, 8000);
    assert.deepEqual(
      got.map((m) => `${m.content}/${m.properties.deliveryMode}`),
      Array.from({ length: 200 }, (_, i) => `m-${i}/2`),
      'consumed on node 3, in publish order, persistent',
    );
  });

  test('mandatory: a message routed only to a queue homed on another node is not returned; an unroutable one is returned from a non-home node with 312 NO_ROUTE (amqplib)', async () => {
    const ch0 = await channel(url(0));
    await ch0.assertExchange('mand.x', 'topic');
    await ch0.assertQueue('mand.q', { durable: false });
    await ch0.bindQueue('mand.q', 'mand.x', 'routed.#');
    await barrier(cluster);
    const ch = await confirmChannel(url(1));
    const returns: string[] = [];
    ch.on('return', (m: amqp.ConsumeMessage) => returns.push(`${m.content}:${(m.fields as unknown as { replyCode: number }).replyCode}:${(m.fields as unknown as { replyText: string }).replyText}`));
    ch.publish('mand.x', 'routed.a', Buffer.from('routed'), { mandatory: true });
    ch.publish('mand.x', 'nowhere', Buffer.from('unroutable'), { mandatory: true });
    await timed(ch.waitForConfirms(), 5000, 'confirms');
    assert.deepEqual(returns, ['unroutable:312:NO_ROUTE']);
    const m = await get(await channel(url(2)), 'mand.q');
    assert.ok(m, 'the routed message is in mand.q (home node 1), fetched with basic.get on node 3');
    assert.equal(m.content.toString(), 'routed');
  });

  test('basic.get, ack, nack and reject with requeue across nodes: redelivered flags and message counts are the home\'s (amqplib)', async () => {
    const home = await channel(url(0));
    await home.assertQueue('get.q', { durable: true });
    await barrier(cluster);
    const pub = await confirmChannel(url(1));
    for (const body of ['a', 'b', 'c']) pub.sendToQueue('get.q', Buffer.from(body), { persistent: true });
    await timed(pub.waitForConfirms(), 5000, 'confirms');
    const ch3 = await channel(url(2));
    const ch2 = await channel(url(1));
    const seen = (m: amqp.GetMessage | false) => (m ? `${m.content} redelivered=${m.fields.redelivered} remaining=${m.fields.messageCount}` : 'empty');
    let m = await get(ch3, 'get.q');
    assert.equal(seen(m), 'a redelivered=false remaining=2');
    ch3.nack(m as amqp.GetMessage, false, true);
    m = await get(ch3, 'get.q');
    assert.equal(seen(m), 'a redelivered=true remaining=2', 'nack with requeue puts it back at the head, marked redelivered');
    ch3.reject(m as amqp.GetMessage, false);
    m = await get(ch3, 'get.q');
    assert.equal(seen(m), 'b redelivered=false remaining=1', 'reject without requeue drops it');
    ch3.ack(m as amqp.GetMessage);
    m = await get(ch3, 'get.q');
    assert.equal(seen(m), 'c redelivered=false remaining=0');
    ch3.reject(m as amqp.GetMessage, true);
    // The reject travels from node 3 and the next get from node 2: wait until the home has it back.
    await waitFor('c requeued at the home', async () => (await timed(ch2.checkQueue('get.q'), 3000, 'passive declare')).messageCount === 1, 3000, 50);
    m = await get(ch2, 'get.q');
    assert.equal(seen(m), 'c redelivered=true remaining=0', 'rejected with requeue on node 3, fetched again on node 2');
    ch2.ack(m as amqp.GetMessage);
    assert.equal(seen(await get(ch2, 'get.q')), 'empty');
    for (const c of declareOkCountsFor(await declareOkCounts(cluster, 'get.q'))) assert.deepEqual(c, [0, 0]);
  });

  test('prefetch is enforced for consumers on a non-home node: per consumer (5 of 20) and per channel (global 4 over two queues on two homes) (amqplib)', async () => {
    await (await channel(url(0))).assertQueue('prefetch.q', { durable: false });
    await (await channel(url(2))).assertQueue('prefetch.g', { durable: false });
    await barrier(cluster);
    const pub = await confirmChannel(url(0));
    for (let i = 0; i < 20; i++) pub.sendToQueue('prefetch.q', Buffer.from(`p${i}`));
    for (let i = 0; i < 10; i++) pub.sendToQueue('prefetch.g', Buffer.from(`g${i}`));
    await timed(pub.waitForConfirms(), 5000, 'confirms');
    const ch = await channel(url(1));
    await ch.prefetch(5);
    const c = await consume(ch, 'prefetch.q', { manual: true });
    await c.until(6, 1500);
    assert.equal(c.messages.length, 5, 'prefetch 5, no acks: exactly 5 delivered to the consumer on node 2');
    assert.deepEqual(c.messages.map((m) => `${m.content}`), ['p0', 'p1', 'p2', 'p3', 'p4']);
    assert.deepEqual(declareOkCountsFor(await declareOkCounts(cluster, 'prefetch.q')), [[15, 1], [15, 1], [15, 1]], 'declare-ok: 15 ready, 1 consumer, on every node');
    ch.ack(c.messages[0]);
    await c.until(7, 1000);
    assert.equal(c.messages.length, 6, 'one ack frees exactly one delivery');
    // Global (per-channel) prefetch across two queues homed on nodes 1 and 3, consumed on node 2.
    const g = await channel(url(1));
    await g.prefetch(4, true);
    const c1 = await consume(g, 'prefetch.q', { manual: true });
    const c2 = await consume(g, 'prefetch.g', { manual: true });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(c1.messages.length + c2.messages.length, 4, `global prefetch 4: got ${c1.messages.length} + ${c2.messages.length}`);
  });

  test('consumer priority across nodes: the priority-10 consumer on node 2 takes messages until its prefetch is full, then the priority-0 consumer on node 3 (amqplib)', async () => {
    await (await channel(url(0))).assertQueue('prio.q', { durable: false });
    await barrier(cluster);
    const high = await channel(url(1));
    await high.prefetch(5);
    const low = await channel(url(2));
    await low.prefetch(100);
    const ch = await consume(high, 'prio.q', { manual: true, priority: 10 });
    const cl = await consume(low, 'prio.q', { manual: true, priority: 0 });
    await waitFor('two consumers at the home', async () => (await attempt(url(0), (c) => c.checkQueue('prio.q').then((ok) => assert.equal(ok.consumerCount, 2)))).outcome === 'ok', 3000);
    const pub = await confirmChannel(url(0));
    for (let i = 0; i < 20; i++) pub.sendToQueue('prio.q', Buffer.from(`${i}`));
    await timed(pub.waitForConfirms(), 5000, 'confirms');
    await cl.until(15, 3000);
    await ch.until(5, 3000).catch(() => undefined);
    assert.deepEqual([ch.messages.length, cl.messages.length], [5, 15], 'high priority (prefetch 5) gets 5, low gets the other 15');
    assert.deepEqual(ch.messages.map((m) => `${m.content}`), ['0', '1', '2', '3', '4']);
  });

  test('dead lettering into a queue homed on a third node: source on node 1, target on node 3: messages expired (published with kombu on node 2) and rejected (by kombu on node 2) reach the target with x-death (kombu, amqplib)', async () => {
    const h1 = await channel(url(0));
    await h1.assertExchange('dlx.x', 'direct');
    const h3 = await channel(url(2));
    await h3.assertQueue('dlx.target', { durable: true });
    await h3.bindQueue('dlx.target', 'dlx.x', 'dead');
    await h1.assertQueue('dlx.src', { durable: true, arguments: { 'x-dead-letter-exchange': 'dlx.x', 'x-dead-letter-routing-key': 'dead' } });
    await barrier(cluster);
    const pub = await cluster.python(via(1), 'kombu_client.py', ['publish', url(1), 'dlx.src', '3', 'exp', '0.1'], { timeoutMs: 20_000 });
    assert.deepEqual(lastJson<{ published: string[] }>(pub).published, ['exp-0', 'exp-1', 'exp-2'], pub.stderr);
    // Expired at the home (node 1), dead-lettered to node 3, drained by kombu on node 1.
    const drain = await cluster.python(via(0), 'kombu_client.py', ['drain', url(0), 'dlx.target', '3', '6', 'ack'], { timeoutMs: 20_000 });
    const got = lastJson<{ messages: { body: string; headers: Record<string, unknown> }[] }>(drain).messages;
    const xDeath = (h: Record<string, unknown>) => {
      const d = (h['x-death'] as Record<string, unknown>[] | undefined)?.[0];
      return d ? `${d.reason}/${d.queue}/${d.count}/${d.exchange}` : 'no x-death';
    };
    assert.deepEqual(got.map((m) => `${m.body} ${xDeath(m.headers)}`), ['exp-0 expired/dlx.src/1/', 'exp-1 expired/dlx.src/1/', 'exp-2 expired/dlx.src/1/'], drain.stderr);
    // Rejected without requeue by a kombu consumer on node 2.
    const p = await confirmChannel(url(2));
    p.sendToQueue('dlx.src', Buffer.from('rej-0'), { persistent: true });
    p.sendToQueue('dlx.src', Buffer.from('rej-1'), { persistent: true });
    await timed(p.waitForConfirms(), 5000, 'confirms');
    const rej = await cluster.python(via(1), 'kombu_client.py', ['drain', url(1), 'dlx.src', '2', '6', 'reject'], { timeoutMs: 20_000 });
    assert.deepEqual(lastJson<{ messages: { body: string }[] }>(rej).messages.map((m) => m.body), ['rej-0', 'rej-1'], rej.stderr);
    const target = await consume(await channel(url(0)), 'dlx.target');
    const dead = await target.until(2, 4000);
    assert.deepEqual(dead.map((m) => `${m.content} ${xDeath(m.properties.headers ?? {})}`), ['rej-0 rejected/dlx.src/1/', 'rej-1 rejected/dlx.src/1/']);
  });

  test('direct reply-to: a pika requester on node 1 and a pika responder on node 3, request queue homed on node 2 (pika)', async () => {
    await (await channel(url(1))).assertQueue('rpc.requests', { durable: false });
    await barrier(cluster);
    let ready!: () => void;
    const readyP = new Promise<void>((r) => (ready = r));
    const server = cluster.python(via(2), 'pika_rpc.py', ['server', url(2), 'rpc.requests', '5', '15'], { timeoutMs: 25_000, onLine: (l) => l === 'ready' && ready() });
    await timed(readyP, 10_000, 'the responder consuming');
    const client = await cluster.python(via(0), 'pika_rpc.py', ['client', url(0), 'rpc.requests', '5', '8'], { timeoutMs: 20_000 });
    const replies = lastJson<{ replies: Record<string, { body: string; routing_key: string }> }>(client).replies;
    const srv = await server;
    assert.deepEqual(
      Object.entries(replies).sort().map(([id, r]) => `${id}=${r.body}`),
      [0, 1, 2, 3, 4].map((i) => `c${i}=REQUEST-${i}`),
      `requester output: ${client.stdout}${client.stderr}\nresponder output: ${srv.stdout}${srv.stderr}`,
    );
    assert.match(Object.values(replies)[0].routing_key, /^amq\.rabbitmq\.reply-to\./);
  });

  test('queue.declare-ok counts and `warrenctl list_queues name messages consumers` agree on every node (the home\'s figures)', async () => {
    await (await channel(url(1))).assertQueue('counts.q', { durable: true });
    await barrier(cluster);
    const pub = await confirmChannel(url(2));
    for (let i = 0; i < 10; i++) pub.sendToQueue('counts.q', Buffer.from(`${i}`), { persistent: true });
    await timed(pub.waitForConfirms(), 5000, 'confirms');
    const ch = await channel(url(0));
    await ch.prefetch(3);
    const c = await consume(ch, 'counts.q', { manual: true });
    await c.until(3, 3000);
    assert.equal(c.messages.length, 3, 'consumer on node 1 holds 3 unacked');
    const want = cluster.nodes.map((n) => `${n.name}: messages=7 consumers=1`);
    await waitFor('declare-ok counts on every node', async () => JSON.stringify(await declareOkCounts(cluster, 'counts.q')) === JSON.stringify(want), 2000).catch(() => undefined);
    assert.deepEqual(await declareOkCounts(cluster, 'counts.q'), want, 'declare-ok: messages (ready) 7, consumers 1, on every node');
    assert.deepEqual(listQueuesRows(cluster, 'counts.q'), cluster.nodes.map((n) => `${n.name}: messages=10 ready=7 unacked=3 consumers=1`), 'list_queues on every node');
  });

  test('basic.recover, single active consumer and exclusive consumers with the clients on non-home nodes (amqplib)', async () => {
    const home = await channel(url(0));
    await home.assertQueue('recover.q', { durable: false });
    await home.assertQueue('sac.q', { durable: false, arguments: { 'x-single-active-consumer': true } });
    await home.assertQueue('excl.q', { durable: false });
    await barrier(cluster);
    const pub = await confirmChannel(url(0));
    for (const b of ['r0', 'r1']) pub.sendToQueue('recover.q', Buffer.from(b));
    await timed(pub.waitForConfirms(), 5000, 'confirms');
    // basic.recover on node 2 requeues its unacked deliveries, which come back redelivered.
    const rc = await channel(url(1));
    const r = await consume(rc, 'recover.q', { manual: true });
    await r.until(2, 3000);
    assert.deepEqual(r.messages.map((m) => `${m.content}/${m.fields.redelivered}`), ['r0/false', 'r1/false']);
    await timed(rc.recover(), 5000, 'basic.recover');
    await r.until(4, 3000);
    assert.deepEqual(r.messages.map((m) => `${m.content}/${m.fields.redelivered}`), ['r0/false', 'r1/false', 'r0/true', 'r1/true'], 'basic.recover from node 2');
    // Single active consumer: the first consumer (node 2) gets everything; once it cancels, the next (node 3).
    const a = await consume(await channel(url(1)), 'sac.q');
    const b = await consume(await channel(url(2)), 'sac.q');
    for (let i = 0; i < 4; i++) pub.sendToQueue('sac.q', Buffer.from(`s${i}`));
    await timed(pub.waitForConfirms(), 5000, 'confirms');
    await a.until(4, 3000);
    assert.deepEqual([a.messages.length, b.messages.length], [4, 0], 'single active consumer: all to the first consumer');
    await a.cancel();
    for (let i = 4; i < 7; i++) pub.sendToQueue('sac.q', Buffer.from(`s${i}`));
    await timed(pub.waitForConfirms(), 5000, 'confirms');
    await b.until(3, 3000);
    assert.deepEqual(b.messages.map((m) => `${m.content}`), ['s4', 's5', 's6'], 'after the active consumer cancelled, the next one takes over');
    // An exclusive consumer on node 2 locks the queue against a consumer on node 3 (403 ACCESS_REFUSED).
    const ex = await channel(url(1));
    await timed(ex.consume('excl.q', () => undefined, { exclusive: true }), 5000, 'exclusive consume');
    const second = await attempt(url(2), (c) => c.consume('excl.q', () => undefined));
    assert.match(second.outcome, /ACCESS_REFUSED/, 'a second consumer on another node while an exclusive one holds the queue');
  });

  test('purge and delete with if-unused / if-empty from a non-home node answer with the home\'s figures (amqplib)', async () => {
    await (await channel(url(0))).assertQueue('purge.q', { durable: true });
    await barrier(cluster);
    const pub = await confirmChannel(url(1));
    for (let i = 0; i < 6; i++) pub.sendToQueue('purge.q', Buffer.from(`${i}`), { persistent: true });
    await timed(pub.waitForConfirms(), 5000, 'confirms');
    const cons = await channel(url(1));
    await cons.prefetch(1);
    const c = await consume(cons, 'purge.q', { manual: true });
    await c.until(2, 1000);
    assert.equal(c.messages.length, 1, 'prefetch 1');
    assert.match((await attempt(url(2), (ch) => ch.deleteQueue('purge.q', { ifUnused: true }))).outcome, /PRECONDITION_FAILED/, 'delete if-unused on node 3 while node 2 consumes');
    assert.match((await attempt(url(2), (ch) => ch.deleteQueue('purge.q', { ifEmpty: true }))).outcome, /PRECONDITION_FAILED/, 'delete if-empty on node 3 while it holds messages');
    const purged = await timed((await channel(url(2))).purgeQueue('purge.q'), 5000, 'queue.purge');
    assert.equal(purged.messageCount, 5, 'purge on node 3 removed the 5 ready messages, not the one the consumer holds');
    await c.cancel();
    cons.nack(c.messages[0], false, true);
    const ch3 = await channel(url(2));
    await waitFor('the held message requeued', async () => (await timed(ch3.checkQueue('purge.q'), 3000, 'passive declare')).messageCount === 1, 3000, 50);
    const deleted = await timed(ch3.deleteQueue('purge.q'), 5000, 'queue.delete');
    assert.equal(deleted.messageCount, 1, 'delete-ok on node 3 counts the requeued message');
    await barrier(cluster);
    for (const i of N) assert.match((await attempt(url(i), (ch) => ch.checkQueue('purge.q'))).outcome, /NOT_FOUND/, `purge.q gone on ${name(i)}`);
  });

  test('x-queue-leader-locator: balanced places each new queue on a node with the fewest queues', async () => {
    // Make node 1 the fullest first: client-local queues declared there.
    const ch = await channel(url(0));
    for (let i = 0; i < 4; i++) await ch.assertQueue(`bal.local.${i}`, { durable: true });
    await barrier(cluster);
    const counts = () => {
      const rows = cluster.listQueues(1, ['name', 'node']);
      return cluster.nodes.map((n) => rows.filter((r) => r.node === n.name).length);
    };
    const placed: string[] = [];
    for (let i = 0; i < 6; i++) {
      const before = counts();
      const fewest = Math.min(...before);
      await ch.assertQueue(`bal.q.${i}`, { durable: true, arguments: { 'x-queue-leader-locator': 'balanced' } });
      await barrier(cluster);
      const home = cluster.listQueues(1, ['name', 'node']).find((r) => r.name === `bal.q.${i}`)?.node;
      const idx = cluster.nodes.findIndex((n) => n.name === home);
      placed.push(`${home} (counts before ${before.join('/')})`);
      assert.ok(idx >= 0 && before[idx] === fewest, `bal.q.${i} declared on node 1 went to ${home}; queues per node before: ${before.join('/')}\n${placed.join('\n')}`);
    }
  });

  test('a home cut off by a partition: the other nodes answer for its durable queue at once with the 404 naming it; after the heal its messages are there (amqplib)', async () => {
    const home = 2;
    await (await channel(url(home))).assertQueue('cut.q', { durable: true });
    await barrier(cluster);
    const pub = await confirmChannel(url(0));
    for (let i = 0; i < 5; i++) pub.sendToQueue('cut.q', Buffer.from(`k${i}`), { persistent: true });
    await timed(pub.waitForConfirms(), 5000, 'confirms');
    cluster.setLink(home, false);
    try {
      // Both other nodes must see it down: one that has not yet would still try the home and
      // answer when the request fails, without naming the queue durable.
      await waitFor(`${name(home)} seen down by both others and a leader among them`, () => {
        const views = [0, 1].map((i) => cluster.status(i).status);
        return views.every((s) => s.members.some((m) => m.node === name(home) && !m.up)) && views[0].leader !== '' && views[0].leader !== name(home);
      }, 15_000, 200);
      const downText = `NOT_FOUND - home node '${name(home)}' of durable queue 'cut.q' in vhost '/' is down or inaccessible`;
      for (const i of [0, 1]) {
        const r = await attempt(url(i), (c) => c.checkQueue('cut.q'), 5000);
        assert.ok(r.outcome.includes(downText) && r.ms < 2000, `passive declare of cut.q on ${name(i)} while its home is cut off: "${r.outcome}" after ${r.ms} ms`);
      }
    } finally {
      cluster.setLink(home, true);
    }
    await cluster.waitFormed(20_000);
    await waitFor('cut.q answering again on node 1', async () => (await attempt(url(0), (c) => c.checkQueue('cut.q'), 3000)).outcome === 'ok', 10_000, 200);
    const got = await (await consume(await channel(url(0)), 'cut.q')).until(5, 5000);
    assert.deepEqual(got.map((m) => `${m.content}`), ['k0', 'k1', 'k2', 'k3', 'k4'], 'the messages homed on the cut-off node, after the heal');
  });

  test('home killed with kill -9 while publishers on the other nodes send persistent messages with confirms: every acked message is there after the restart, the rest were nacked; while it is down its durable queue fails at once with 404 naming it (amqplib scripts in the namespaces)', async () => {
    const home = 0;
    const ch0 = await channel(url(home));
    await ch0.assertQueue('kill.q', { durable: true });
    await ch0.assertQueue('kill.consumed', { durable: true });
    await ch0.assertQueue('kill.transient', { durable: false });
    await barrier(cluster);
    const watcher = await consume(await channel(url(2)), 'kill.consumed');
    const acks = [0, 0, 0];
    const publishers = [1, 2].map((i) =>
      cluster.nodeScript(i, 'confirm-publisher.js', [url(i), 'kill.q', '1500', '250', '32', `n${i + 1}`, '25000'], {
        timeoutMs: 40_000,
        onLine: (l) => {
          const m = /^progress (\d+)/.exec(l);
          if (m) acks[i] = Number(m[1]);
        },
      }),
    );
    await waitFor('both publishers with 100 acks', () => acks[1] >= 100 && acks[2] >= 100, 15_000, 20);
    await cluster.kill9(home);
    const killedAt = Date.now();
    // Seen down, and a metadata leader among the survivors (the home may have been the leader):
    // the < 2 s below is about answering for a down home, not about a Raft election.
    await waitFor(`${name(home)} seen down and a new leader`, () => {
      const s = cluster.status(1).status;
      return s.members.some((m) => m.node === name(home) && !m.up) && s.leader !== '' && s.leader !== name(home);
    }, 10_000, 100);
    console.log(`# ${name(home)} seen down, with a leader among the survivors, ${Date.now() - killedAt} ms after kill -9`);
    const downText = `NOT_FOUND - home node '${name(home)}' of durable queue 'kill.q' in vhost '/' is down or inaccessible`;
    const ops: [string, (c: amqp.Channel) => Promise<unknown>][] = [
      ['passive declare', (c) => c.checkQueue('kill.q')],
      ['declare', (c) => c.assertQueue('kill.q', { durable: true })],
      ['basic.get', (c) => c.get('kill.q')],
      ['basic.consume', (c) => c.consume('kill.q', () => undefined)],
      ['queue.purge', (c) => c.purgeQueue('kill.q')],
    ];
    for (const i of [1, 2])
      for (const [what, op] of ops) {
        const r = await attempt(url(i), op, 5000);
        assert.ok(r.outcome.includes(downText) && r.ms < 2000, `${what} of kill.q on ${name(i)} while its home is down: "${r.outcome}" after ${r.ms} ms; want 404 "${downText}" in < 2000 ms`);
      }
    await waitFor('basic.cancel to the consumer of kill.consumed on node 3', () => watcher.cancelled, 5000);
    await waitFor('the down node\'s transient queue deleted cluster-wide', async () => (await attempt(url(1), (c) => c.checkQueue('kill.transient'))).outcome.includes('NOT_FOUND'), 10_000);
    const results = (await Promise.all(publishers)).map((r) => lastJson<{ sent: number; acked: string[]; nacked: string[]; returned: string[]; unconfirmed: string[]; error: string; fatal?: string }>(r));
    await cluster.restart(home);
    await barrier(cluster);
    const acked = results.flatMap((r) => r.acked);
    for (const [i, r] of results.entries()) {
      const who = `publisher on ${name(i + 1)}`;
      assert.equal(r.fatal, undefined, `${who}: ${r.fatal}`);
      assert.equal(r.error, '', `${who} saw a channel or connection error`);
      assert.deepEqual(r.unconfirmed, [], `${who}: messages neither acked nor nacked`);
      assert.equal(r.acked.length + r.nacked.length, r.sent, `${who}: acks + nacks = sent`);
      assert.deepEqual(r.returned, [], `${who}: a publish routed only to a down home is not returned, even with mandatory`);
      assert.ok(r.nacked.length > 0, `${who}: publishes while the home was down must be nacked (acked ${r.acked.length}, nacked 0)`);
    }
    const counts = await declareOkCounts(cluster, 'kill.q');
    const m = Number(/messages=(\d+)/.exec(counts[0])![1]);
    assert.deepEqual(counts, cluster.nodes.map((n) => `${n.name}: messages=${m} consumers=0`), 'declare-ok after the restart agrees on every node');
    assert.ok(m >= acked.length, `kill.q holds ${m} messages after the restart, but ${acked.length} were acked`);
    assert.deepEqual(listQueuesRows(cluster, 'kill.q'), cluster.nodes.map((n) => `${n.name}: messages=${m} ready=${m} unacked=0 consumers=0`));
    const ch = await channel(url(1));
    await ch.prefetch(500);
    const got = await (await consume(ch, 'kill.q')).until(m, 15_000);
    const present = new Set(got.map((x) => `${x.content}`));
    const lost = acked.filter((id) => !present.has(id));
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} of ${acked.length} acked messages missing after the home restarted`);
    console.log(`# acked ${acked.length}, nacked ${results.reduce((s, r) => s + r.nacked.length, 0)}, present after restart ${present.size}`);
  });
});

/** "name: messages=M consumers=C" lines → [M, C] pairs. */
function declareOkCountsFor(lines: string[]): number[][] {
  return lines.map((l) => {
    const m = /messages=(\d+) consumers=(\d+)/.exec(l)!;
    return [Number(m[1]), Number(m[2])];
  });
}
