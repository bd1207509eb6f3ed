// set_policy / clear_policy / list_policies changing what an amqplib client observes on queues and exchanges
// declared without arguments: message-ttl, max-length, dead-letter-exchange, alternate-exchange; arguments
// winning over a policy, priorities, clear_policy reverting, validation, and policies surviving a restart.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startBroker } from '../helpers/broker-process';
import type * as amqp from 'amqplib';
import { Clients, sleep, uniqueName, waitFor } from '../helpers/amqp-test';
import { ctl, ctlOk, ctlRows, ctlSkip, useCtlBroker } from './ctl-support';

const skip = ctlSkip;
let ch: amqp.ConfirmChannel;
const node = useCtlBroker(async () => {
  ch = await clients.confirmChannel(await clients.connect());
});
const clients = node.clients;

/** A regex matching exactly `name` (uniqueName has dots). */
const exactly = (name: string) => `^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;

async function publish(queue: string, bodies: string[]): Promise<void> {
  for (const b of bodies) ch.sendToQueue(queue, Buffer.from(b));
  await ch.waitForConfirms();
}

const ready = async (queue: string) => (await ch.checkQueue(queue)).messageCount;

/** A fanout exchange bound to a fresh queue; returns both names. */
async function sink(prefix: string): Promise<{ exchange: string; queue: string }> {
  const exchange = uniqueName(`${prefix}.x`);
  const queue = uniqueName(`${prefix}.q`);
  await ch.assertExchange(exchange, 'fanout', { durable: false });
  await ch.assertQueue(queue);
  await ch.bindQueue(queue, exchange, '');
  return { exchange, queue };
}

describe('policies set with warrenctl', { skip }, () => {
  it('message-ttl: a queue without arguments starts expiring messages; list_queues names the policy', async () => {
    const q = uniqueName('ttl');
    const other = uniqueName('nottl');
    await ch.assertQueue(q);
    await ch.assertQueue(other);
    const out = await ctlOk(node.broker.dataDir, ['set_policy', '--apply-to', 'queues', 'ttl-pol', exactly(q), '{"message-ttl":50}']);
    assert.match(out, /^Setting policy "ttl-pol" for pattern .* with priority "0" for vhost "\/" \.\.\.\n$/);
    await publish(q, ['a', 'b']);
    await publish(other, ['a', 'b']);
    await waitFor(async () => (await ready(q)) === 0, 3000, 'messages to expire');
    assert.equal(await ready(other), 2);
    const row = (await ctlRows(node.broker.dataDir, ['list_queues', 'name', 'policy', 'messages'])).find((r) => r.name === q);
    assert.deepEqual(row, { name: q, policy: 'ttl-pol', messages: '0' });
    await ctlOk(node.broker.dataDir, ['clear_policy', 'ttl-pol']);
    await publish(q, ['kept']);
    await sleep(150);
    assert.equal(await ready(q), 1);
    assert.equal((await ctlRows(node.broker.dataDir, ['list_queues', 'name', 'policy'])).find((r) => r.name === q)?.policy, '');
  });

  it('max-length + dead-letter-exchange: overflow is dead-lettered; clear_policy reverts to unbounded', async () => {
    const q = uniqueName('bounded');
    const dlx = await sink('dlx');
    await ch.assertQueue(q);
    await ctlOk(node.broker.dataDir, ['set_policy', 'bounded-pol', exactly(q), JSON.stringify({ 'max-length': 2, 'dead-letter-exchange': dlx.exchange })]);
    await publish(q, ['m0', 'm1', 'm2', 'm3', 'm4']);
    assert.equal(await ready(q), 2);
    await waitFor(async () => (await ready(dlx.queue)) === 3, 2000, 'three dead-lettered');
    const head = await ch.get(q, { noAck: true });
    assert.ok(head);
    assert.equal(head.content.toString(), 'm3', 'drop-head keeps the newest');
    const dead = await ch.get(dlx.queue, { noAck: true });
    assert.ok(dead);
    assert.equal(dead.content.toString(), 'm0');
    assert.equal((dead.properties.headers?.['x-death'] as { reason: string }[])[0].reason, 'maxlen');
    await ctlOk(node.broker.dataDir, ['clear_policy', 'bounded-pol']);
    await publish(q, ['n0', 'n1', 'n2', 'n3']);
    assert.equal(await ready(q), 5);
    assert.equal((await ctlRows(node.broker.dataDir, ['list_queues', 'name', 'messages'])).find((r) => r.name === q)?.messages, '5');
  });

  it('queue arguments win over the policy; the higher priority policy applies', async () => {
    const q = uniqueName('argwins');
    const fromArg = await sink('arg');
    const fromPolicy = await sink('pol');
    await ch.assertQueue(q, { arguments: { 'x-dead-letter-exchange': fromArg.exchange } });
    await ctlOk(node.broker.dataDir, ['set_policy', '--priority', '1', 'low', exactly(q), JSON.stringify({ 'max-length': 1, 'dead-letter-exchange': fromPolicy.exchange })]);
    await ctlOk(node.broker.dataDir, ['set_policy', '--priority', '5', 'high', exactly(q), JSON.stringify({ 'max-length': 3, 'dead-letter-exchange': fromPolicy.exchange })]);
    assert.equal((await ctlRows(node.broker.dataDir, ['list_queues', 'name', 'policy'])).find((r) => r.name === q)?.policy, 'high');
    await publish(q, ['1', '2', '3', '4', '5']);
    assert.equal(await ready(q), 3, 'max-length 3 of the priority-5 policy');
    await waitFor(async () => (await ready(fromArg.queue)) === 2, 2000, 'dead-lettered through the argument DLX');
    assert.equal(await ready(fromPolicy.queue), 0, "the policy's DLX is not used");
    const policies = JSON.parse(await ctlOk(node.broker.dataDir, ['list_policies', '--formatter', 'json'])) as Record<string, unknown>[];
    assert.deepEqual(policies.find((p) => p.name === 'high'), {
      vhost: '/',
      name: 'high',
      pattern: exactly(q),
      'apply-to': 'all',
      definition: { 'max-length': 3, 'dead-letter-exchange': fromPolicy.exchange },
      priority: 5,
    });
    await ctlOk(node.broker.dataDir, ['clear_policy', 'high']);
    await ctlOk(node.broker.dataDir, ['clear_policy', 'low']);
  });

  it('alternate-exchange on exchanges (apply-to exchanges), not on apply-to queues', async () => {
    const x = uniqueName('unrouted');
    const ae = await sink('ae');
    await ch.assertExchange(x, 'direct', { durable: false });
    const send = async () => {
      ch.publish(x, 'nowhere', Buffer.from('lost?'));
      await ch.waitForConfirms();
    };
    await ctlOk(node.broker.dataDir, ['set_policy', '--apply-to', 'queues', 'ae-pol', exactly(x), JSON.stringify({ 'alternate-exchange': ae.exchange })]);
    await send();
    assert.equal(await ready(ae.queue), 0, 'a queues-only policy does not reach the exchange');
    await ctlOk(node.broker.dataDir, ['set_policy', '--apply-to', 'exchanges', 'ae-pol', exactly(x), JSON.stringify({ 'alternate-exchange': ae.exchange })]);
    await send();
    assert.equal(await ready(ae.queue), 1);
    assert.equal((await ctlRows(node.broker.dataDir, ['list_exchanges', 'name', 'policy'])).find((r) => r.name === x)?.policy, 'ae-pol');
    await ctlOk(node.broker.dataDir, ['clear_policy', 'ae-pol']);
    await send();
    assert.equal(await ready(ae.queue), 1);
  });

  it('refuses invalid policies with a message and exit code 1 (2 for bad usage)', async () => {
    const cases: [string[], number, RegExp][] = [
      [['set_policy', 'p', '.*', '{"max-lenght":1}'], 1, /Validation failed\n\nunrecognised policy key 'max-lenght'/],
      [['set_policy', 'p', '.*', '{"message-ttl":-1}'], 1, /'message-ttl' must be a non-negative integer/],
      [['set_policy', 'p', '.*', '{"overflow":"explode"}'], 1, /'overflow' must be drop-head, reject-publish or reject-publish-dlx/],
      [['set_policy', 'p', '.*', '{"dead-letter-exchange":5}'], 1, /dead-letter-exchange must be a string/],
      [['set_policy', 'p', '.*', '[1]'], 1, /definition must be a JSON object/],
      [['set_policy', 'p', '.*', '{"max-length":'], 1, /definition is not valid JSON/],
      [['set_policy', 'p', '.*', '{}'], 1, /definition must not be empty/],
      [['set_policy', 'p', '([', '{"max-length":1}'], 1, /invalid regular expression for pattern/],
      [['set_policy', '-p', 'no-vhost', 'p', '.*', '{"max-length":1}'], 1, /Virtual host 'no-vhost' does not exist/],
      [['clear_policy', 'never-set'], 1, /Policy 'never-set' in vhost '\/' does not exist/],
      [['set_policy', '--priority', 'high', 'p', '.*', '{"max-length":1}'], 2, /--priority must be an integer/],
      [['set_policy', 'p', '.*'], 2, /not enough arguments/],
    ];
    for (const [args, code, stderr] of cases) {
      const r = await ctl(node.broker.dataDir, args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, stderr, args.join(' '));
    }
    assert.ok(!(await ctlRows(node.broker.dataDir, ['list_policies'])).some((p) => p.name === 'p'), 'nothing was set');
  });
});

describe('policies and a restart', { skip }, () => {
  it('a policy set with warrenctl is back after a restart and still bounds the durable queue', async () => {
    let b = await startBroker();
    const local = new Clients(() => b);
    try {
      const q = 'restart.bounded';
      let c = await local.confirmChannel(await local.connect());
      await c.assertQueue(q, { durable: true });
      await ctlOk(b.dataDir, ['set_policy', '--apply-to', 'queues', '--priority', '2', 'survivor', '^restart\\.', '{"max-length":2}']);
      await local.closeAll();
      await b.stop({ keepData: true });
      b = await startBroker({ dataDir: b.dataDir });
      assert.deepEqual(await ctlRows(b.dataDir, ['list_policies']), [
        { vhost: '/', name: 'survivor', pattern: '^restart\\.', 'apply-to': 'queues', definition: '{"max-length":2}', priority: '2' },
      ]);
      c = await local.confirmChannel(await local.connect());
      for (let i = 0; i < 4; i++) c.sendToQueue(q, Buffer.from(`r${i}`), { persistent: true });
      await c.waitForConfirms();
      assert.equal((await c.checkQueue(q)).messageCount, 2);
      assert.equal((await ctlRows(b.dataDir, ['list_queues', 'name', 'policy', 'messages'])).find((r) => r.name === q)?.policy, 'survivor');
    } finally {
      await local.closeAll();
      await b.stop();
    }
  });
});
