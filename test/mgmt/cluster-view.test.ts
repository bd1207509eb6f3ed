// In a cluster every node's management API answers for the whole cluster: queues homed on
// other nodes with their home's figures, connections and channels open on other nodes,
// every node in /api/nodes; a member that stops shows as not running, its queues as down.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as amqp from 'amqplib';
import { freePort } from '../helpers/free-port';
import { ClusterProcess, clusterStatus, waitFor } from '../cluster/cluster-support';

type Row = Record<string, unknown>;

describe('management API in a three-node cluster', { timeout: 120_000 }, () => {
  const nodes: ClusterProcess[] = [];
  const mgmtPorts: number[] = [];
  const connections: amqp.ChannelModel[] = [];

  const api = async (i: number, path: string): Promise<unknown> => {
    const r = await fetch(`http://127.0.0.1:${mgmtPorts[i]}${path}`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
    assert.equal(r.status, 200, `${path} on node ${i}`);
    return r.json();
  };

  before(async () => {
    const epmdPort = await freePort();
    const names = ['mgmt-a@127.0.0.1', 'mgmt-b@127.0.0.1', 'mgmt-c@127.0.0.1'];
    for (const name of names) {
      const mgmtPort = await freePort();
      mgmtPorts.push(mgmtPort);
      nodes.push(
        new ClusterProcess(
          { name, host: '127.0.0.1', amqpPort: await freePort(), distPort: await freePort(), epmdPort, env: { WARREN_NODE_IP: '127.0.0.1', WARREN_MGMT_PORT: String(mgmtPort), WARREN_MGMT_IP: '127.0.0.1', WARREN_PROMETHEUS_PORT: '0', WARREN_MGMT_SAMPLE_INTERVAL_MS: '500' } },
          names,
        ),
      );
    }
    for (const n of nodes) n.start();
    await Promise.all(nodes.map((n) => n.waitListening()));
    await waitFor('three members up', () => nodes.every((n) => {
      const s = clusterStatus(n.spec.name, { epmdPort });
      return s.ok && s.status.members.length === 3 && s.status.members.every((m) => m.up) && s.status.leader !== '';
    }), 30_000);
  });

  after(async () => {
    // A connection to the killed node may never answer its close: bounded.
    await Promise.all(connections.map((c) => Promise.race([c.close().catch(() => undefined), new Promise((r) => setTimeout(r, 2000))])));
    await Promise.all(nodes.map((n) => n.destroy()));
  });

  test('node A lists B and C: their queues with the home figures, their connections, every node', async () => {
    const b = await amqp.connect(nodes[1].url);
    const c = await amqp.connect(nodes[2].url);
    connections.push(b, c);
    for (const conn of connections) conn.on('error', () => undefined);
    const bch = await b.createChannel();
    await bch.assertQueue('view.b', { durable: true });
    for (let i = 0; i < 4; i++) bch.sendToQueue('view.b', Buffer.from(`m${i}`));
    const cch = await c.createChannel();
    await cch.assertQueue('view.c', { durable: false });
    await cch.consume('view.b', () => undefined, { noAck: false });

    const queues = (await waitFor('view.b with its 4 messages on node A', async () => {
      const rows = (await api(0, '/api/queues')) as Row[];
      const vb = rows.find((r) => r.name === 'view.b');
      return vb && vb.messages === 4 ? rows : undefined;
    }, 15_000))!;
    const byName = new Map(queues.map((r) => [r.name, r]));
    assert.equal(byName.get('view.b')!.node, 'mgmt-b@127.0.0.1');
    assert.equal(byName.get('view.b')!.consumers, 1);
    assert.equal(byName.get('view.c')!.node, 'mgmt-c@127.0.0.1');
    assert.equal(queues.filter((r) => r.name === 'view.b').length, 1, 'each queue listed once');

    const paged = (await api(0, '/api/queues?page=1&page_size=50')) as { items: Row[] };
    assert.deepEqual(paged.items.map((r) => r.name).sort(), ['view.b', 'view.c']);

    const conns = (await api(0, '/api/connections')) as Row[];
    assert.deepEqual(conns.map((r) => r.node).sort(), ['mgmt-b@127.0.0.1', 'mgmt-c@127.0.0.1']);
    const channels = (await api(0, '/api/channels')) as Row[];
    assert.equal(channels.length, 2);
    const consumers = (await api(0, '/api/consumers')) as Row[];
    assert.equal(consumers.length, 1);
    const names = ((await api(0, '/api/nodes')) as Row[]).map((r) => r.name).sort();
    assert.deepEqual(names, ['mgmt-a@127.0.0.1', 'mgmt-b@127.0.0.1', 'mgmt-c@127.0.0.1']);
    const overview = (await api(0, '/api/overview')) as { object_totals: Row };
    assert.equal(overview.object_totals.connections, 2);
    assert.equal(overview.object_totals.queues, 2);
  });

  test('through node A: messages move from a queue on B to one on C, the cluster name reaches every node, samples come from the home', async () => {
    const request = (i: number, method: string, path: string, body?: unknown) =>
      fetch(`http://127.0.0.1:${mgmtPorts[i]}${path}`, { method, headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const bch = await connections[0].createConfirmChannel();
    const cch = await connections[1].createChannel();
    await bch.assertQueue('move.on-b', { durable: true });
    await cch.assertQueue('move.on-c', { durable: true });
    for (let i = 0; i < 300; i++) bch.sendToQueue('move.on-b', Buffer.from(`m${i}`), { persistent: true });
    await bch.waitForConfirms();
    const homes = new Map(((await api(0, '/api/queues')) as Row[]).map((r) => [r.name, r.node]));
    assert.equal(homes.get('move.on-b'), 'mgmt-b@127.0.0.1');
    assert.equal(homes.get('move.on-c'), 'mgmt-c@127.0.0.1');
    const put = await request(0, 'PUT', `/api/parameters/shovel/%2F/${encodeURIComponent('Move from move.on-b')}`, {
      value: { 'src-uri': 'amqp:///%2F', 'src-queue': 'move.on-b', 'src-delete-after': 'queue-length', 'dest-uri': 'amqp:///%2F', 'dest-queue': 'move.on-c', 'ack-mode': 'on-confirm' },
    });
    assert.equal(put.status, 201, await put.text());
    await waitFor('300 messages on C', async () => (await cch.checkQueue('move.on-c')).messageCount === 300, 20_000);
    assert.equal((await bch.checkQueue('move.on-b')).messageCount, 0);
    for (let i = 0; i < 300; i++) assert.equal(((await cch.get('move.on-c', { noAck: true })) as amqp.GetMessage).content.toString(), `m${i}`);

    assert.equal((await request(0, 'PUT', '/api/cluster-name', { name: 'three-nodes' })).status, 204);
    for (const i of [1, 2]) await waitFor(`the cluster name on node ${i}`, async () => ((await api(i, '/api/cluster-name')) as Row).name === 'three-nodes', 10_000);

    const row = (await waitFor('samples of view.b through node A', async () => {
      const r = (await api(0, '/api/queues/%2F/view.b?lengths_age=60&lengths_incr=1&msg_rates_age=60&msg_rates_incr=1')) as Row;
      return ((r.messages_ready_details as Row | undefined)?.samples as unknown[] | undefined)?.length ? r : undefined;
    }, 10_000))!;
    assert.ok(((row.message_stats as Row).publish_details as Row).samples);
  });

  test('through node A: exchange and vhost samples summed over the nodes, a connection and a channel on B sampled by B', async () => {
    type Samples = { sample: number; timestamp: number }[];
    const onB = await connections[0].createConfirmChannel();
    const onC = await connections[1].createConfirmChannel();
    await onB.assertExchange('samples.x', 'fanout', { durable: false });
    for (let i = 0; i < 5; i++) onB.publish('samples.x', '', Buffer.from('b'));
    for (let i = 0; i < 7; i++) onC.publish('samples.x', '', Buffer.from('c'));
    await Promise.all([onB.waitForConfirms(), onC.waitForConfirms()]);
    const W = 'msg_rates_age=60&msg_rates_incr=1&data_rates_age=60&data_rates_incr=1';
    // B counted 5, C counted 7, A none: node A answers the sum, point by point
    const x = (await waitFor('exchange samples summed', async () => {
      const r = (await api(0, `/api/exchanges/%2F/samples.x?${W}`)) as any;
      return r.message_stats?.publish_in_details?.samples?.[0]?.sample === 12 ? r : undefined;
    }, 10_000))!;
    const xs = x.message_stats.publish_in_details.samples as Samples;
    assert.equal(xs[xs.length - 1].sample, 0, 'zero before the exchange was declared');
    assert.ok(xs.every((p, i) => i === 0 || p.timestamp === xs[i - 1].timestamp - 1000), 'one grid of timestamps');
    await waitFor('vhost publish samples equal the summed counter', async () => {
      const v = (await api(0, `/api/vhosts/%2F?${W}`)) as any;
      return v.message_stats.publish_details.samples[0].sample === v.message_stats.publish && v.message_stats.publish >= 12;
    }, 10_000);
    const conn = ((await api(0, '/api/connections')) as Row[]).find((c) => c.node === 'mgmt-b@127.0.0.1')!;
    const c = (await api(0, `/api/connections/${encodeURIComponent(String(conn.name))}?${W}`)) as any;
    assert.ok((c.recv_oct_details.samples as Samples)[0].sample > 0, JSON.stringify(c.recv_oct_details));
    const chan = ((await api(0, '/api/channels')) as any[]).find((r) => r.node === 'mgmt-b@127.0.0.1' && r.message_stats?.publish === 5)!;
    const chRow = (await waitFor('channel samples from B', async () => {
      const r = (await api(0, `/api/channels/${encodeURIComponent(String(chan.name))}?${W}`)) as any;
      return r.message_stats?.publish_details?.samples?.[0]?.sample === 5 ? r : undefined;
    }, 10_000))!;
    assert.equal(chRow.node, 'mgmt-b@127.0.0.1');
  });

  test('a stopped member shows as not running, its durable queue as down, from node A', async () => {
    await nodes[1].kill();
    const rows = (await waitFor('view.b down on node A', async () => {
      const all = (await api(0, '/api/queues')) as Row[];
      return all.find((r) => r.name === 'view.b')?.state === 'down' ? all : undefined;
    }, 15_000))!;
    assert.equal(rows.filter((r) => r.name === 'view.b').length, 1);
    const b = ((await api(0, '/api/nodes')) as Row[]).find((r) => r.name === 'mgmt-b@127.0.0.1');
    assert.equal(b?.running, false);
  });
});
