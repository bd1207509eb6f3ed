// queue.declare / bind / unbind / purge / delete, exclusivity and auto-delete, as RabbitMQ does them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as amqp from 'amqplib';
import { rejectsWithCode, sleep, uniqueName, waitFor } from '../helpers/amqp-test';
import { brokerFixture } from '../helpers/broker-fixture';

let conn: amqp.ChannelModel;
const { clients } = brokerFixture(async (c) => {
  conn = await c.connect();
});

function channel(c: amqp.ChannelModel = conn): Promise<amqp.Channel> {
  return clients.channel(c);
}

/** Publishes n messages to a queue through the default exchange and waits for the broker's confirms. */
async function fill(queue: string, n: number): Promise<void> {
  const ch = await clients.confirmChannel(conn);
  for (let i = 0; i < n; i++) ch.sendToQueue(queue, Buffer.from(`m${i}`));
  await ch.waitForConfirms();
  await ch.close();
}

/** Asserts that the named queue no longer exists (passive declare gets 404). */
async function assertGone(queue: string, c?: amqp.ChannelModel): Promise<void> {
  const ch = await channel(c);
  await rejectsWithCode(ch.checkQueue(queue), 404);
}

describe('queue.declare', () => {
  it('declares a durable queue and reports its message and consumer counts', async () => {
    const ch = await channel();
    const q = uniqueName('q-durable');
    const ok = await ch.assertQueue(q, { durable: true });
    assert.deepEqual(ok, { queue: q, messageCount: 0, consumerCount: 0 });
    await fill(q, 3);
    await ch.consume(q, () => {}, { noAck: false, consumerTag: 'c1' });
    const passive = await ch.checkQueue(q);
    assert.equal(passive.queue, q);
    assert.equal(passive.consumerCount, 1);
    assert.ok(passive.messageCount >= 0 && passive.messageCount <= 3);
    const again = await ch.assertQueue(q, { durable: true });
    assert.equal(again.consumerCount, 1);
    await ch.cancel('c1');
    await ch.deleteQueue(q);
    await ch.close();
  });

  it('names a queue amq.gen-<22 base64url chars> when the name is empty', async () => {
    const ch = await channel();
    const names = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const ok = await ch.assertQueue('', { exclusive: true });
      assert.match(ok.queue, /^amq\.gen-[A-Za-z0-9_-]{22}$/);
      names.add(ok.queue);
    }
    assert.equal(names.size, 5, 'server-generated names must be unique');
    await ch.close();
  });

  const inequivalent: Array<[string, amqp.Options.AssertQueue, amqp.Options.AssertQueue]> = [
    ['durable', { durable: true }, { durable: false }],
    ['auto-delete', { durable: true, autoDelete: false }, { durable: true, autoDelete: true }],
    ['arguments', { durable: true, arguments: { 'x-max-length': 10 } }, { durable: true, arguments: { 'x-max-length': 20 } }],
    ['missing argument', { durable: true }, { durable: true, arguments: { 'x-message-ttl': 1000 } }],
  ];
  for (const [what, first, second] of inequivalent) {
    it(`refuses a redeclare with a different ${what} with 406`, async () => {
      const ch = await channel();
      const q = uniqueName('q-ineq');
      await ch.assertQueue(q, first);
      await rejectsWithCode(ch.assertQueue(q, second), 406, /PRECONDITION_FAILED.*inequivalent arg/);
      const ch2 = await channel();
      await ch2.assertQueue(q, first); // the original still stands
      await ch2.deleteQueue(q);
      await ch2.close();
    });
  }

  it('answers a passive declare of a missing queue with 404 NOT_FOUND', async () => {
    const ch = await channel();
    const q = uniqueName('q-missing');
    await rejectsWithCode(ch.checkQueue(q), 404, new RegExp(`NOT_FOUND - no queue '${q.replace(/\./g, '\\.')}'`));
  });

  it('refuses a client-named amq.* queue with 403', async () => {
    const ch = await channel();
    await rejectsWithCode(ch.assertQueue(`amq.${uniqueName('x')}`), 403, /ACCESS_REFUSED/);
  });
});

describe('exclusive queues', () => {
  it('refuses use from another connection with 405 RESOURCE_LOCKED', async () => {
    const owner = await channel();
    const q = uniqueName('q-excl');
    await owner.assertQueue(q, { exclusive: true });
    const other = await clients.connect();
    const attempts: Array<[string, (ch: amqp.Channel) => Promise<unknown>]> = [
      ['declare', (ch) => ch.assertQueue(q, { exclusive: true })],
      ['passive declare', (ch) => ch.checkQueue(q)],
      ['consume', (ch) => ch.consume(q, () => {})],
      ['get', (ch) => ch.get(q)],
      ['purge', (ch) => ch.purgeQueue(q)],
      ['delete', (ch) => ch.deleteQueue(q)],
      ['bind', (ch) => ch.bindQueue(q, 'amq.fanout', '')],
    ];
    for (const [what, op] of attempts) {
      const ch = await channel(other);
      await rejectsWithCode(op(ch), 405, /RESOURCE_LOCKED/).catch((e: Error) => {
        throw new Error(`${what}: ${e.message}`);
      });
    }
    await owner.checkQueue(q); // the owner still has it
    await owner.close();
  });

  it('deletes an exclusive queue when its connection closes', async () => {
    const c = await clients.connect();
    const ch = await channel(c);
    const q = uniqueName('q-excl-close');
    await ch.assertQueue(q, { exclusive: true });
    await c.close();
    await waitFor(
      async () => {
        const probe = await channel();
        return probe.checkQueue(q).then(
          () => false,
          () => true,
        );
      },
      3000,
      'exclusive queue to disappear',
    );
  });

  it('keeps an exclusive queue when only the declaring channel closes', async () => {
    const ch = await channel();
    const q = uniqueName('q-excl-chclose');
    await ch.assertQueue(q, { exclusive: true });
    await ch.close();
    const ch2 = await channel();
    await ch2.checkQueue(q);
    await ch2.deleteQueue(q);
    await ch2.close();
  });
});

describe('queue.bind / queue.unbind', () => {
  it('routes after bind and stops after unbind', async () => {
    const ch = await channel();
    const ex = uniqueName('q-bind-ex');
    await ch.assertExchange(ex, 'direct', { durable: false });
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, ex, 'k');
    ch.publish(ex, 'k', Buffer.from('1'));
    await sleep(100);
    assert.equal((await ch.checkQueue(q)).messageCount, 1);
    await ch.unbindQueue(q, ex, 'k');
    ch.publish(ex, 'k', Buffer.from('2'));
    await sleep(100);
    assert.equal((await ch.checkQueue(q)).messageCount, 1);
    await ch.deleteExchange(ex);
    await ch.close();
  });

  it('accepts unbinding a binding that does not exist', async () => {
    const ch = await channel();
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.unbindQueue(q, 'amq.direct', 'never-bound');
    await ch.close();
  });

  it('answers bind of a missing queue with 404', async () => {
    const ch = await channel();
    await rejectsWithCode(ch.bindQueue(uniqueName('q-missing'), 'amq.direct', 'k'), 404);
  });
});

describe('queue.purge and queue.delete', () => {
  it('purges ready messages and returns how many', async () => {
    const ch = await channel();
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await fill(q, 7);
    assert.deepEqual(await ch.purgeQueue(q), { messageCount: 7 });
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
    assert.equal(await ch.get(q), false);
    await ch.close();
  });

  it('returns the number of messages deleted with the queue', async () => {
    const ch = await channel();
    const q = uniqueName('q-del-count');
    await ch.assertQueue(q);
    await fill(q, 4);
    assert.deepEqual(await ch.deleteQueue(q), { messageCount: 4 });
    await assertGone(q);
    await ch.close();
  });

  it('accepts deleting a queue that does not exist', async () => {
    const ch = await channel();
    const ok = await ch.deleteQueue(uniqueName('q-never'));
    assert.equal(ok.messageCount, 0);
    await ch.close();
  });

  it('refuses if-empty on a queue with messages with 406, then deletes it once empty', async () => {
    const ch = await channel();
    const q = uniqueName('q-ifempty');
    await ch.assertQueue(q);
    await fill(q, 1);
    await rejectsWithCode(ch.deleteQueue(q, { ifEmpty: true }), 406);
    const ch2 = await channel();
    assert.equal((await ch2.checkQueue(q)).messageCount, 1);
    await ch2.purgeQueue(q);
    await ch2.deleteQueue(q, { ifEmpty: true });
    await assertGone(q);
    await ch2.close();
  });

  it('refuses if-unused on a queue with a consumer with 406, then deletes it once unused', async () => {
    const owner = await channel();
    const q = uniqueName('q-ifunused');
    await owner.assertQueue(q);
    const { consumerTag } = await owner.consume(q, () => {});
    const ch = await channel();
    await rejectsWithCode(ch.deleteQueue(q, { ifUnused: true }), 406);
    await owner.cancel(consumerTag);
    await owner.deleteQueue(q, { ifUnused: true });
    await assertGone(q);
    await owner.close();
  });
});

describe('auto-delete queues', () => {
  it('deletes an auto-delete queue when its last consumer cancels, not before', async () => {
    const ch = await channel();
    const q = uniqueName('q-autodel');
    await ch.assertQueue(q, { durable: true, autoDelete: true });
    const c1 = await ch.consume(q, () => {});
    const c2 = await ch.consume(q, () => {});
    await ch.cancel(c1.consumerTag);
    assert.equal((await ch.checkQueue(q)).consumerCount, 1);
    await ch.cancel(c2.consumerTag);
    await assertGone(q);
    await ch.close().catch(() => {});
  });

  it('deletes an auto-delete queue when the consuming channel closes', async () => {
    const ch = await channel();
    const q = uniqueName('q-autodel-chclose');
    await ch.assertQueue(q, { durable: true, autoDelete: true });
    await ch.consume(q, () => {});
    await ch.close();
    await waitFor(
      async () => (await channel()).checkQueue(q).then(() => false, () => true),
      3000,
      'auto-delete queue to disappear',
    );
  });

  it('keeps an auto-delete queue that never had a consumer', async () => {
    const ch = await channel();
    const q = uniqueName('q-autodel-unused');
    await ch.assertQueue(q, { durable: true, autoDelete: true });
    await fill(q, 1);
    assert.ok(await ch.get(q, { noAck: true }));
    await ch.checkQueue(q);
    await ch.deleteQueue(q);
    await ch.close();
  });
});

describe('the empty queue name means the last queue declared on the channel', () => {
  it('applies to bind, publish-side checks, get, purge, consume and delete', async () => {
    const ch = await channel();
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue('', 'amq.direct', q);
    ch.publish('amq.direct', q, Buffer.from('one'));
    ch.publish('amq.direct', q, Buffer.from('two'));
    await sleep(100);
    const m = await ch.get('', { noAck: true });
    assert.ok(m);
    assert.equal(m.content.toString(), 'one');
    assert.deepEqual(await ch.purgeQueue(''), { messageCount: 1 });
    const ok = await ch.consume('', () => {});
    assert.equal((await ch.checkQueue(q)).consumerCount, 1);
    await ch.cancel(ok.consumerTag);
    await ch.deleteQueue('');
    await assertGone(q);
    await ch.close();
  });

  it('answers with 404 when no queue was declared on the channel yet', async () => {
    const ch = await channel();
    await rejectsWithCode(ch.get(''), 404);
  });
});
