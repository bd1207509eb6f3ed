// Behaviours where Warren once differed from RabbitMQ and clients noticed: delete-ok before the
// deleting channel's own basic.cancel, queue equivalence over RabbitMQ's argument list only,
// global and per-consumer basic.qos combined as RabbitMQ's channel does, wrong-typed CC/BCC
// refused, no cleanup warnings for exclusive queues that are already gone, and resource permissions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as amqp from 'amqplib';
import { collector, rejectsWithCode, sleep, uniqueName, waitFor, withTimeout } from '../helpers/amqp-test';
import { brokerFixture } from '../helpers/broker-fixture';
import { methodFrame, methods, RawClient, shortstr, u16, u32, u8 } from '../helpers/raw-amqp';
import { ctlOk } from '../ctl/ctl-support';

const { clients, broker } = brokerFixture();

describe('queue.delete with a consumer on the same channel', () => {
  it('sends delete-ok before basic.cancel (raw frames)', async () => {
    const raw = await RawClient.connect(broker().port, broker().host);
    try {
      await raw.handshake();
      await raw.openChannel(1);
      const q = uniqueName('del-order');
      raw.write(methods.queueDeclare(1, q));
      await raw.expectMethod(50, 11);
      raw.write(methodFrame(1, 60, 20, Buffer.concat([u16(0), shortstr(q), shortstr('ctag'), u8(0), u32(0)])));
      await raw.expectMethod(60, 21);
      raw.write(methodFrame(1, 50, 40, Buffer.concat([u16(0), shortstr(q), u8(0)])));
      await raw.expectMethod(50, 41);
      await raw.expectMethod(60, 30);
    } finally {
      raw.destroy();
    }
  });

  it('lets amqplib delete the queue it consumes from on the same channel', async () => {
    const conn = await clients.connect();
    const ch = await conn.createChannel();
    const errors: Error[] = [];
    ch.on('error', (e: Error) => errors.push(e));
    const q = (await ch.assertQueue(uniqueName('del-amqplib'))).queue;
    const c = collector();
    await ch.consume(q, c.onMessage);
    const ok = await withTimeout(ch.deleteQueue(q), 3000, 'queue.delete-ok');
    assert.equal(ok.messageCount, 0);
    await waitFor(() => c.cancelled, 2000, 'the consumer to be cancelled');
    await ch.assertQueue('', { exclusive: true }); // the channel still works
    assert.deepEqual(errors, []);
    await conn.close();
  });
});

describe('queue equivalence', () => {
  it('ignores arguments RabbitMQ does not compare (non-x- and unknown x- keys), still compares the ones it knows', async () => {
    const ch = await clients.channel();
    const q = uniqueName('equiv');
    await ch.assertQueue(q, { exclusive: true, arguments: { purpose: 'a', 'x-unknown-thing': 1, 'x-max-length': 10 } });
    await ch.assertQueue(q, { exclusive: true, arguments: { purpose: 'b', 'x-max-length': 10 } });
    await ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-length': 10 } });
    await rejectsWithCode(ch.assertQueue(q, { exclusive: true, arguments: { 'x-max-length': 11 } }), 406, /inequivalent arg 'x-max-length'/);
  });
});

describe('basic.qos global and per-consumer', () => {
  async function deliveries(steps: ([kind: 'qos', count: number, global: boolean] | [kind: 'consume', tag: string])[]): Promise<Record<string, number>> {
    const conn = await clients.connect();
    const ch = await conn.createChannel();
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    for (let i = 0; i < 20; i++) ch.sendToQueue(q, Buffer.from(String(i)));
    const counts: Record<string, number> = {};
    for (const step of steps) {
      if (step[0] === 'qos') await ch.prefetch(step[1], step[2]);
      else {
        const tag = step[1];
        counts[tag] = 0;
        await ch.consume(q, () => counts[tag]!++, { consumerTag: tag });
      }
    }
    await sleep(250);
    await conn.close();
    return counts;
  }

  it('a per-consumer qos after a global one lifts the channel-wide limit, as RabbitMQ does', async () => {
    assert.deepEqual(await deliveries([['qos', 2, true], ['qos', 3, false], ['consume', 'A'], ['consume', 'B']]), { A: 3, B: 3 });
  });

  it('a global qos after a per-consumer one limits the channel on top of each consumer', async () => {
    assert.deepEqual(await deliveries([['qos', 3, false], ['qos', 2, true], ['consume', 'A'], ['consume', 'B']]), { A: 2, B: 0 });
    assert.deepEqual(await deliveries([['qos', 1, false], ['consume', 'A'], ['qos', 4, true], ['consume', 'B']]), { A: 1, B: 1 });
  });
});

describe('CC and BCC headers', () => {
  for (const [key, value, type] of [['CC', 'rk', 'longstr'], ['BCC', 5, 'byte']] as const) {
    it(`a ${key} that is not an array is refused with 406 naming basic.publish`, async () => {
      const conn = await clients.connect();
      const ch = await conn.createChannel();
      const closed = new Promise<Error>((ok) => ch.once('error', ok));
      ch.sendToQueue(uniqueName('nowhere'), Buffer.from('x'), { headers: { [key]: value } });
      const err = await closed;
      assert.match(err.message, /406/);
      assert.ok(err.message.includes(`invalid message: {unacceptable_type_in_header,"${key}",${type}}`), err.message);
      await conn.close();
    });
  }

  it('array elements that are not strings are ignored, the others route', async () => {
    const ch = await clients.channel();
    const main = (await ch.assertQueue('', { exclusive: true })).queue;
    const other = (await ch.assertQueue('', { exclusive: true })).queue;
    ch.sendToQueue(main, Buffer.from('x'), { headers: { CC: [other, 5] } });
    await waitFor(async () => (await ch.checkQueue(other)).messageCount === 1, 2000, 'the CC copy');
    assert.equal((await ch.checkQueue(main)).messageCount, 1);
  });
});

describe('exclusive queue cleanup', () => {
  it('logs no warning for exclusive queues already auto-deleted when their connection closes', async (t) => {
    if (broker().external) return t.skip('reads the spawned broker output');
    for (let i = 0; i < 5; i++) {
      const conn = await clients.connect();
      const ch = await conn.createChannel();
      const q = (await ch.assertQueue('', { exclusive: true, autoDelete: true })).queue;
      await ch.consume(q, () => {});
      await conn.close();
    }
    await sleep(300);
    assert.doesNotMatch(broker().output(), /exclusive queue cleanup failed/);
  });
});

describe('resource permissions (configure, write, read)', () => {
  it('refuse with 403 what the user may not touch, and allow the rest (amqplib)', async (t) => {
    if (broker().external) return t.skip('creates users with warrenctl');
    const user = uniqueName('limited');
    await ctlOk(broker().dataDir, ['add_user', user, 'pw']);
    await ctlOk(broker().dataDir, ['set_permissions', '-p', '/', user, '^mine\\.', '^mine\\.', '^mine\\.']);
    const conn = await clients.connect({ user, password: 'pw' });
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => {});
    const q = (await ch.assertQueue('mine.q', { exclusive: true })).queue;
    await ch.assertExchange('mine.x', 'fanout', { autoDelete: true });
    await ch.bindQueue(q, 'mine.x', '');
    ch.publish('mine.x', '', Buffer.from('ok'));
    await ch.waitForConfirms();
    assert.equal((await ch.get(q, { noAck: true }) || undefined)?.content.toString(), 'ok');
    const refused = async (op: (c: amqp.Channel) => Promise<unknown>, text: RegExp) => {
      const c = await conn.createChannel();
      c.on('error', () => {});
      await rejectsWithCode(op(c), 403, text);
    };
    await refused((c) => c.assertQueue('theirs.q', { exclusive: true }), /configure access to queue 'theirs.q' in vhost '\/' refused for user/);
    await refused((c) => c.assertExchange('theirs.x', 'fanout'), /configure access to exchange 'theirs.x'/);
    await refused((c) => c.bindQueue(q, 'amq.fanout', ''), /read access to exchange 'amq.fanout'/);
    await refused((c) => c.checkQueue(q).then(() => c.get('theirs.q')), /read access to queue 'theirs.q'/);
    const pub = await conn.createChannel();
    const closed = new Promise<Error>((ok) => pub.once('error', ok));
    pub.sendToQueue('mine.q', Buffer.from('default exchange'));
    assert.match((await closed).message, /403.*write access to exchange 'amq.default'/);
    await conn.close();
  });
});
