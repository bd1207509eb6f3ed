// exchange.declare / delete / bind / unbind as RabbitMQ does them, including its reply codes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as amqp from 'amqplib';
import { isRabbitMqVersion } from '../helpers/broker-process';
import { rejectsWithCode, sleep, track, uniqueName, waitFor } from '../helpers/amqp-test';
import { brokerFixture } from '../helpers/broker-fixture';

let conn: amqp.ChannelModel;
const { clients } = brokerFixture(async (c) => {
  conn = await c.connect();
});

/** A fresh channel on the shared connection (channel errors only kill the channel). */
function channel(): Promise<amqp.Channel> {
  return clients.channel(conn);
}

/** Binds a new exclusive queue to the exchange and returns a function that reads what arrived. */
async function probe(ch: amqp.Channel, exchange: string, key: string, args?: Record<string, unknown>) {
  const q = (await ch.assertQueue('', { exclusive: true })).queue;
  await ch.bindQueue(q, exchange, key, args);
  return {
    queue: q,
    async drain(settleMs = 100): Promise<string[]> {
      await sleep(settleMs);
      const out: string[] = [];
      for (;;) {
        const m = await ch.get(q, { noAck: true });
        if (!m) return out;
        out.push(m.content.toString());
      }
    },
  };
}

describe('exchange.declare', () => {
  for (const type of ['direct', 'fanout', 'topic', 'headers']) {
    it(`declares a ${type} exchange, which a passive declare then finds`, async () => {
      const ch = await channel();
      const name = uniqueName(`ex-${type}`);
      const ok = await ch.assertExchange(name, type, { durable: false, autoDelete: false });
      assert.equal(ok.exchange, name);
      await ch.checkExchange(name);
      await ch.deleteExchange(name);
      await ch.close();
    });
  }

  it('accepts an equivalent redeclare', async () => {
    const ch = await channel();
    const name = uniqueName('ex-redeclare');
    await ch.assertExchange(name, 'topic', { durable: true, arguments: { 'x-custom': 'a' } });
    await ch.assertExchange(name, 'topic', { durable: true, arguments: { 'x-custom': 'a' } });
    await ch.deleteExchange(name);
    await ch.close();
  });

  for (const [what, opts, type] of [
    ['type', { durable: false }, 'fanout'],
    ['durable', { durable: true }, 'direct'],
    ['auto-delete', { durable: false, autoDelete: true }, 'direct'],
    ['internal', { durable: false, internal: true }, 'direct'],
  ] as const) {
    it(`refuses a redeclare with a different ${what} with 406 and keeps the exchange`, async () => {
      const ch = await channel();
      const name = uniqueName('ex-inequivalent');
      await ch.assertExchange(name, 'direct', { durable: false });
      await rejectsWithCode(ch.assertExchange(name, type, opts), 406, /PRECONDITION/);
      const ch2 = await channel();
      await ch2.checkExchange(name);
      await ch2.deleteExchange(name);
      await ch2.close();
    });
  }

  it('answers a passive declare of a missing exchange with 404', async () => {
    const ch = await channel();
    await rejectsWithCode(ch.checkExchange(uniqueName('ex-missing')), 404, /NOT_FOUND/);
  });

  it('refuses to declare an amq.* exchange with 403', async () => {
    const ch = await channel();
    await rejectsWithCode(ch.assertExchange(`amq.${uniqueName('x')}`, 'direct'), 403, /ACCESS_REFUSED/);
  });

  it('refuses an unknown exchange type', async () => {
    // Its own connection: a broker that answers with a connection error must not take the shared one down.
    const c = await clients.connect();
    const ch = await clients.channel(c);
    const name = uniqueName('ex-badtype');
    if (isRabbitMqVersion('3.10')) {
      // RabbitMQ 3.x made this a 503 COMMAND_INVALID connection error.
      await assert.rejects(ch.assertExchange(name, 'x-no-such-type'));
      await waitFor(() => c.errors.length > 0, 3000, 'connection error');
      assert.equal((c.errors[0] as Error & { code?: number }).code, 503);
      return;
    }
    await rejectsWithCode(ch.assertExchange(name, 'x-no-such-type'), 406, /unknown exchange type/);
    assert.equal(c.errors.length, 0, 'a channel error, not a connection error');
    await c.close();
  });
});

describe('built-in exchanges', () => {
  it('has amq.direct, amq.fanout, amq.topic, amq.headers and amq.match', async () => {
    const ch = await channel();
    for (const name of ['amq.direct', 'amq.fanout', 'amq.topic', 'amq.headers', 'amq.match']) await ch.checkExchange(name);
    await ch.close();
  });

  it('accepts an equivalent redeclare of a built-in exchange', async () => {
    const ch = await channel();
    await ch.assertExchange('amq.direct', 'direct', { durable: true });
    await ch.assertExchange('amq.match', 'headers', { durable: true });
    await ch.close();
  });

  it('routes through amq.direct, amq.fanout and amq.topic', async () => {
    const ch = await channel();
    const key = uniqueName('k');
    const d = await probe(ch, 'amq.direct', key);
    const f = await probe(ch, 'amq.fanout', '');
    const t = await probe(ch, 'amq.topic', `${key}.#`);
    ch.publish('amq.direct', key, Buffer.from('d'));
    ch.publish('amq.fanout', 'whatever', Buffer.from('f'));
    ch.publish('amq.topic', `${key}.x.y`, Buffer.from('t'));
    assert.deepEqual(await d.drain(), ['d']);
    assert.ok((await f.drain()).includes('f'));
    assert.deepEqual(await t.drain(), ['t']);
    await ch.close();
  });

  it('refuses to delete a built-in amq.* exchange with 403', async () => {
    const ch = await channel();
    await rejectsWithCode(ch.deleteExchange('amq.direct'), 403);
  });
});

describe('the default exchange', () => {
  it('delivers to the queue named by the routing key', async () => {
    const ch = await channel();
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    ch.publish('', q, Buffer.from('via default'));
    const m = await waitFor(() => ch.get(q, { noAck: true }), 3000, 'message');
    assert.equal(m.content.toString(), 'via default');
    assert.equal(m.fields.exchange, '');
    assert.equal(m.fields.routingKey, q);
    await ch.close();
  });

  const ops: Array<[string, (ch: amqp.Channel, q: string) => Promise<unknown>]> = [
    ['declare', (ch) => ch.assertExchange('', 'direct')],
    ['delete', (ch) => ch.deleteExchange('')],
    ['queue.bind', (ch, q) => ch.bindQueue(q, '', 'k')],
    ['queue.unbind', (ch, q) => ch.unbindQueue(q, '', q)],
    ['exchange.bind as source', (ch) => ch.bindExchange('amq.fanout', '', 'k')],
    ['exchange.bind as destination', (ch) => ch.bindExchange('', 'amq.fanout', 'k')],
  ];
  for (const [name, op] of ops) {
    it(`refuses ${name} with 403`, async () => {
      const setup = await channel();
      const q = (await setup.assertQueue('', { exclusive: true })).queue;
      const ch = await channel();
      await rejectsWithCode(op(ch, q), 403, /ACCESS_REFUSED/);
      await setup.close();
    });
  }
});

describe('exchange.delete', () => {
  it('deletes an exchange; a later passive declare gets 404', async () => {
    const ch = await channel();
    const name = uniqueName('ex-del');
    await ch.assertExchange(name, 'fanout', { durable: false });
    await ch.deleteExchange(name);
    await rejectsWithCode(ch.checkExchange(name), 404);
  });

  it('refuses if-unused on an exchange with bindings with 406, allows it once unbound', async () => {
    const ch = await channel();
    const name = uniqueName('ex-ifunused');
    await ch.assertExchange(name, 'fanout', { durable: false });
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, name, '');
    await rejectsWithCode(ch.deleteExchange(name, { ifUnused: true }), 406);
    const ch2 = await channel();
    await ch2.checkExchange(name);
    await ch2.unbindQueue(q, name, '');
    await ch2.deleteExchange(name, { ifUnused: true });
    await rejectsWithCode(ch2.checkExchange(name), 404);
  });

  it('removes the bindings of a deleted exchange', async () => {
    const ch = await channel();
    const name = uniqueName('ex-del-bind');
    await ch.assertExchange(name, 'fanout', { durable: false });
    const p = await probe(ch, name, '');
    await ch.deleteExchange(name);
    await ch.assertExchange(name, 'fanout', { durable: false });
    ch.publish(name, '', Buffer.from('after recreate'));
    assert.deepEqual(await p.drain(), [], 'the old binding must be gone');
    await ch.deleteExchange(name);
    await ch.close();
  });
});

describe('internal and auto-delete exchanges', () => {
  it('refuses publishing to an internal exchange with 403 (channel closes)', async () => {
    const t = track(await channel());
    const name = uniqueName('ex-internal');
    await t.ch.assertExchange(name, 'fanout', { durable: false, internal: true });
    t.ch.publish(name, '', Buffer.from('x'));
    await t.closed;
    assert.equal((t.errors[0] as Error & { code?: number })?.code, 403, String(t.errors[0]));
    const ch2 = await channel();
    await ch2.deleteExchange(name);
    await ch2.close();
  });

  it('routes into an internal exchange through an exchange-to-exchange binding', async () => {
    const ch = await channel();
    const src = uniqueName('ex-src');
    const internal = uniqueName('ex-int');
    await ch.assertExchange(src, 'direct', { durable: false });
    await ch.assertExchange(internal, 'fanout', { durable: false, internal: true });
    await ch.bindExchange(internal, src, 'k');
    const p = await probe(ch, internal, '');
    ch.publish(src, 'k', Buffer.from('through'));
    assert.deepEqual(await p.drain(), ['through']);
    await ch.deleteExchange(src);
    await ch.deleteExchange(internal);
    await ch.close();
  });

  it('deletes an auto-delete exchange when its last binding goes', async () => {
    const ch = await channel();
    const name = uniqueName('ex-autodel');
    await ch.assertExchange(name, 'direct', { durable: false, autoDelete: true });
    const q1 = (await ch.assertQueue('', { exclusive: true })).queue;
    const q2 = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q1, name, 'a');
    await ch.bindQueue(q2, name, 'b');
    await ch.unbindQueue(q1, name, 'a');
    await ch.checkExchange(name); // one binding left: still there
    await ch.unbindQueue(q2, name, 'b');
    await rejectsWithCode(ch.checkExchange(name), 404);
  });

  it('keeps an auto-delete exchange that never had a binding', async () => {
    const ch = await channel();
    const name = uniqueName('ex-autodel-unused');
    await ch.assertExchange(name, 'direct', { durable: false, autoDelete: true });
    await ch.checkExchange(name);
    await ch.deleteExchange(name);
    await ch.close();
  });
});

describe('exchange.bind / exchange.unbind', () => {
  it('routes end to end through an exchange-to-exchange binding, and stops after unbind', async () => {
    const ch = await channel();
    const src = uniqueName('e2e-src');
    const dst = uniqueName('e2e-dst');
    await ch.assertExchange(src, 'direct', { durable: false });
    await ch.assertExchange(dst, 'fanout', { durable: false });
    await ch.bindExchange(dst, src, 'key');
    const p = await probe(ch, dst, '');
    ch.publish(src, 'key', Buffer.from('match'));
    ch.publish(src, 'other', Buffer.from('no match'));
    assert.deepEqual(await p.drain(), ['match']);
    await ch.unbindExchange(dst, src, 'key');
    ch.publish(src, 'key', Buffer.from('after unbind'));
    assert.deepEqual(await p.drain(), []);
    await ch.deleteExchange(src);
    await ch.deleteExchange(dst);
    await ch.close();
  });

  it('delivers one copy per queue even when reachable by several paths, and tolerates cycles', async () => {
    const ch = await channel();
    const a = uniqueName('e2e-a');
    const b = uniqueName('e2e-b');
    await ch.assertExchange(a, 'fanout', { durable: false });
    await ch.assertExchange(b, 'fanout', { durable: false });
    await ch.bindExchange(b, a, '');
    await ch.bindExchange(a, b, ''); // a cycle
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, a, '');
    await ch.bindQueue(q, b, '');
    ch.publish(a, '', Buffer.from('once'));
    await sleep(150);
    const first = await ch.get(q, { noAck: true });
    const second = await ch.get(q, { noAck: true });
    assert.ok(first && first.content.toString() === 'once');
    assert.equal(second, false, 'exactly one copy expected');
    await ch.deleteExchange(a);
    await ch.deleteExchange(b);
    await ch.close();
  });

  it('answers exchange.bind with a missing source with 404', async () => {
    const ch = await channel();
    await rejectsWithCode(ch.bindExchange('amq.fanout', uniqueName('missing'), ''), 404);
  });

  it('answers queue.bind to a missing exchange with 404', async () => {
    const setup = await channel();
    const q = (await setup.assertQueue('', { exclusive: true })).queue;
    const ch = await channel();
    await rejectsWithCode(ch.bindQueue(q, uniqueName('missing'), ''), 404);
    await setup.close();
  });
});
