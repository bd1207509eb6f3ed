// warrenctl against a single (non-clustered) node through <data dir>/warren.sock: status, cluster_status,
// vhosts, the lists (counts as an amqplib client made them), purge / delete queue, formatters and errors.
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startBroker } from '../helpers/broker-process';
import { rejectsWithCode, uniqueName, waitFor } from '../helpers/amqp-test';
import { ctl, ctlOk, ctlRows, ctlSkip, useCtlBroker } from './ctl-support';

const skip = ctlSkip;
const node = useCtlBroker();
const clients = node.clients;

describe('warrenctl on a single node', { skip }, () => {
  it('finds the node through a 0600 socket in the data dir; status and cluster_status (one member)', async () => {
    const sock = join(node.broker.dataDir, 'warren.sock');
    // The control socket opens just after the AMQP listener the start helper waits for.
    await waitFor(() => existsSync(sock), 10_000, 'the control socket');
    const st = statSync(sock);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    const status = JSON.parse(await ctlOk(node.broker.dataDir, ['status', '--formatter', 'json'])) as Record<string, any>;
    assert.equal(status.os_pid, node.broker.child.pid);
    assert.equal(status.clustered, false);
    assert.deepEqual(status.listeners, [{ protocol: 'amqp', host: '127.0.0.1', port: node.broker.port }]);
    assert.match(await ctlOk(node.broker.dataDir, ['status']), /^Status of node warren@/);
    const text = await ctlOk(node.broker.dataDir, ['cluster_status']);
    assert.match(text, /Single node \(not clustered\)\n\nMembers\n {2}warren@\S+ {2}running/);
    const json = JSON.parse(await ctlOk(node.broker.dataDir, ['--json', 'cluster_status'])) as { status: { members: unknown[] } };
    assert.equal(json.status.members.length, 1);
    // A running single node is not registered with a port mapper; its socket still stops a reset.
    const reset = await ctl(node.broker.dataDir, ['reset']);
    assert.equal(reset.code, 1);
    assert.match(reset.stderr, /the node of .* is running; stop it before reset/);
    assert.ok(existsSync(join(node.broker.dataDir, 'metadata')));
  });

  it('add_vhost / list_vhosts / delete_vhost, with errors for duplicates and unknown vhosts', async () => {
    const vhost = uniqueName('vh');
    assert.equal(await ctlOk(node.broker.dataDir, ['add_vhost', vhost]), `Adding vhost "${vhost}" ...\n`);
    assert.ok((await ctlRows(node.broker.dataDir, ['list_vhosts'])).some((r) => r.name === vhost));
    const dup = await ctl(node.broker.dataDir, ['add_vhost', vhost]);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /Virtual host '.*' already exists/);
    // guest has no permissions there yet: the vhost exists but refuses guest.
    await assert.rejects(clients.connect({ vhost }));
    await ctlOk(node.broker.dataDir, ['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
    const conn = await clients.connect({ vhost });
    await (await conn.createChannel()).assertQueue('in-vhost');
    assert.deepEqual(await ctlRows(node.broker.dataDir, ['list_queues', '-p', vhost]), [{ name: 'in-vhost', messages: '0' }]);
    await conn.close();
    await ctlOk(node.broker.dataDir, ['delete_vhost', vhost]);
    assert.ok(!(await ctlRows(node.broker.dataDir, ['list_vhosts'])).some((r) => r.name === vhost));
    for (const args of [['delete_vhost', vhost], ['list_queues', '-p', vhost]]) {
      const r = await ctl(node.broker.dataDir, args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, /^Error:\nVirtual host '.*' does not exist/);
    }
  });

  it('list_queues, list_exchanges, list_bindings, list_connections, list_consumers match what a client did', async () => {
    const conn = await clients.connect();
    const ch = await clients.confirmChannel(conn);
    const q = uniqueName('counted');
    const x = uniqueName('x');
    await ch.assertQueue(q, { durable: true, arguments: { 'x-max-length': 100 } });
    await ch.assertExchange(x, 'topic', { durable: false });
    await ch.bindQueue(q, x, 'a.#');
    for (let i = 0; i < 5; i++) ch.sendToQueue(q, Buffer.from('hello'));
    await ch.waitForConfirms();
    const consumerCh = await conn.createChannel();
    await consumerCh.prefetch(2);
    let got = 0;
    const { consumerTag } = await consumerCh.consume(q, () => got++, { noAck: false });
    await waitFor(() => got === 2);
    const cols = ['name', 'messages', 'messages_ready', 'messages_unacknowledged', 'consumers', 'durable', 'auto_delete', 'exclusive', 'arguments', 'message_bytes'];
    const row = (await ctlRows(node.broker.dataDir, ['list_queues', ...cols])).find((r) => r.name === q);
    assert.deepEqual(row, {
      name: q,
      messages: '5',
      messages_ready: '3',
      messages_unacknowledged: '2',
      consumers: '1',
      durable: 'true',
      auto_delete: 'false',
      exclusive: 'false',
      arguments: '{"x-max-length":100}',
      message_bytes: '15',
    });
    const json = JSON.parse(await ctlOk(node.broker.dataDir, ['list_queues', 'name', 'messages', '--formatter', 'json'])) as { name: string; messages: number }[];
    assert.deepEqual(json.find((r) => r.name === q), { name: q, messages: 5 });

    const exchanges = await ctlRows(node.broker.dataDir, ['list_exchanges', 'name', 'type', 'durable']);
    assert.deepEqual(exchanges.find((r) => r.name === x), { name: x, type: 'topic', durable: 'false' });
    assert.ok(exchanges.some((r) => r.name === 'amq.fanout' && r.type === 'fanout'));

    const bindings = (await ctlRows(node.broker.dataDir, ['list_bindings'])).filter((b) => b.destination_name === q);
    assert.deepEqual(bindings, [
      { source_name: '', source_kind: 'exchange', destination_name: q, destination_kind: 'queue', routing_key: q, arguments: '{}' },
      { source_name: x, source_kind: 'exchange', destination_name: q, destination_kind: 'queue', routing_key: 'a.#', arguments: '{}' },
    ]);

    const connections = await ctlRows(node.broker.dataDir, ['list_connections', 'user', 'vhost', 'peer_host', 'state', 'channels']);
    assert.ok(connections.some((c) => c.user === 'guest' && c.vhost === '/' && c.peer_host === '127.0.0.1' && c.state === 'running' && c.channels === '2'), JSON.stringify(connections));

    const consumers = (await ctlRows(node.broker.dataDir, ['list_consumers'])).filter((c) => c.queue_name === q);
    assert.equal(consumers.length, 1);
    assert.equal(consumers[0].consumer_tag, consumerTag);
    assert.equal(consumers[0].ack_required, 'true');
    assert.equal(consumers[0].prefetch_count, '2');
    assert.equal(consumers[0].active, 'true');

    // purge_queue drops the ready messages only; the two unacked stay with the consumer.
    assert.match(await ctlOk(node.broker.dataDir, ['purge_queue', q]), /purged 3 messages/);
    const after = (await ctlRows(node.broker.dataDir, ['list_queues', 'name', 'messages_ready', 'messages_unacknowledged'])).find((r) => r.name === q);
    assert.deepEqual(after, { name: q, messages_ready: '0', messages_unacknowledged: '2' });
    await conn.close();
  });

  it('delete_queue (with --if-empty refusing a queue with messages) and purge/delete of unknown queues', async () => {
    const conn = await clients.connect();
    const ch = await clients.confirmChannel(conn);
    const q = uniqueName('doomed');
    await ch.assertQueue(q);
    ch.sendToQueue(q, Buffer.from('x'));
    await ch.waitForConfirms();
    const refused = await ctl(node.broker.dataDir, ['delete_queue', '--if-empty', q]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /not empty/);
    assert.match(await ctlOk(node.broker.dataDir, ['delete_queue', q]), /deleted with 1 ready messages/);
    await rejectsWithCode((await clients.channel(conn)).checkQueue(q), 404);
    for (const cmd of ['delete_queue', 'purge_queue']) {
      const r = await ctl(node.broker.dataDir, [cmd, 'no-such-queue']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /Queue 'no-such-queue' in vhost '\/' does not exist/);
    }
  });

  it('bad usage exits 2, failures exit 1, both with a message on stderr; the broker carries on', async () => {
    const cases: [string[], number, RegExp][] = [
      [['frobnicate'], 2, /Command 'frobnicate' not found/],
      [['add_user', 'only-name'], 2, /add_user: not enough arguments/],
      [['list_users', 'extra'], 2, /too many arguments/],
      [['--bogus', 'status'], 2, /unknown option --bogus/],
      [['set_policy', '--apply-to', 'nothing', 'p', '.*', '{}'], 2, /--apply-to must be/],
      [['list_queues', 'name', 'no_such_column'], 1, /Info key\(s\) no_such_column are not supported/],
      [['-n', 'someone-else@nowhere', 'list_queues'], 1, /belongs to node .*, not someone-else@nowhere/],
    ];
    for (const [args, code, stderr] of cases) {
      const r = await ctl(node.broker.dataDir, args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, stderr, args.join(' '));
    }
    const none = await ctl(join(node.broker.dataDir, 'not-a-node'), ['list_queues']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no control socket at .*not-a-node\/warren\.sock/);
    assert.equal((await ctl(node.broker.dataDir, ['status'])).code, 0);
  });
});

describe('the control socket across restarts', { skip }, () => {
  it('is removed on shutdown, and a stale one left by kill -9 is replaced at start', async () => {
    let b = await startBroker();
    const sock = join(b.dataDir, 'warren.sock');
    try {
      await waitFor(() => existsSync(sock), 10_000, 'the control socket');
      await b.kill();
      assert.ok(existsSync(sock), 'kill -9 leaves the socket file');
      const stale = await ctl(b.dataDir, ['status']);
      assert.equal(stale.code, 1);
      assert.match(stale.stderr, /the node is not running/);
      b = await startBroker({ dataDir: b.dataDir });
      assert.equal((await ctl(b.dataDir, ['status'])).code, 0);
      await b.stop({ keepData: true });
      assert.ok(!existsSync(sock), 'a clean stop removes the socket file');
    } finally {
      await b.stop();
    }
  });
});
