// basic class: publish and its properties, get, consume, ack/nack/reject, recover, qos, returns, cancel.
import type { Scenario } from '../session';
import { typed } from '../wire';

const ALL_PROPERTIES = {
  contentType: 'application/json',
  contentEncoding: 'gzip',
  headers: {
    str: 'text',
    int: 42,
    long: typed('l', 2n ** 40n),
    byte: typed('b', -5),
    ubyte: typed('B', 200),
    short: typed('s', -300),
    ushort: typed('u', 60000),
    uint: typed('i', 4000000000),
    float: typed('f', 1.5),
    double: 2.25,
    decimal: typed('D', [2, 12345]),
    bool: true,
    void: null,
    bytes: Buffer.from([0, 1, 2, 255]),
    time: new Date(1700000000000),
    nested: { a: 1, b: ['x', 2, { c: false }] },
    array: [1, 'two', typed('b', 3)],
  },
  deliveryMode: 2,
  priority: 3,
  correlationId: 'corr-1',
  replyTo: 'reply-queue',
  expiration: '60000',
  messageId: 'msg-1',
  timestamp: new Date(1700000000000),
  type: 'order.created',
  userId: 'guest',
  appId: 'differential',
  clusterId: 'cluster-x',
};

export const basicScenarios: Scenario[] = [
  {
    name: 'every basic property and every field type survive a round trip (get and deliver)',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.publishConfirmed(1, [{ args: { routingKey: q }, body: 'full', props: ALL_PROPERTIES }, { args: { routingKey: q }, body: '' }]);
      await p.call(1, 'basic.get', { queue: q });
      await p.call(1, 'basic.consume', { queue: q, consumerTag: 'all' });
      await p.count(1, 'basic.deliver', 1);
      await p.call(1, 'basic.cancel', { consumerTag: 'all' });
    },
  },
  {
    name: 'basic.get: get-ok fields with message counts, get-empty, redelivered after reject',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.publishConfirmed(1, ['a', 'b', 'c'].map((body) => ({ args: { routingKey: q }, body })));
      await p.call(1, 'basic.get', { queue: q });
      await p.call(1, 'basic.get', { queue: q, noAck: true });
      p.send(1, 'basic.reject', { deliveryTag: 1, requeue: true });
      await p.call(1, 'basic.get', { queue: q });
      await p.call(1, 'basic.get', { queue: q });
      await p.call(1, 'basic.get', { queue: q });
      await p.call(1, 'basic.recover', { requeue: true });
      await p.call(1, 'basic.get', { queue: q, noAck: true });
    },
  },
  {
    name: 'requeue order: rejected one by one, nacked together after a redelivery, channel closed with unacked',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q });
      await p.publishConfirmed(1, ['1', '2', '3', '4', '5'].map((body) => ({ args: { routingKey: q }, body })));
      for (let i = 0; i < 3; i++) await p.call(1, 'basic.get', { queue: q });
      p.send(1, 'basic.reject', { deliveryTag: 3, requeue: true });
      p.send(1, 'basic.reject', { deliveryTag: 1, requeue: true });
      await p.call(1, 'basic.get', { queue: q });
      p.send(1, 'basic.nack', { deliveryTag: 0, multiple: true, requeue: true });
      for (let i = 0; i < 5; i++) await p.call(1, 'basic.get', { queue: q });
      await p.call(1, 'channel.close', { replyCode: 200 });
      await p.openChannel(2);
      for (let i = 0; i < 6; i++) await p.call(2, 'basic.get', { queue: q, noAck: true });
      await p.call(2, 'queue.delete', { queue: q });
    },
  },
  {
    name: 'priority queue requeue keeps each level in order',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true, arguments: { 'x-max-priority': 5 } });
      const msgs = [['l1', 1], ['l2', 1], ['h1', 5], ['h2', 5], ['m1', 3], ['none', undefined], ['over', 9]] as const;
      await p.publishConfirmed(1, msgs.map(([body, priority]) => ({ args: { routingKey: q }, body, props: priority === undefined ? {} : { priority } })));
      for (let i = 0; i < msgs.length; i++) await p.call(1, 'basic.get', { queue: q });
      for (const tag of [2, 5, 1, 7, 3]) p.send(1, 'basic.reject', { deliveryTag: tag, requeue: true });
      for (let i = 0; i < 6; i++) await p.call(1, 'basic.get', { queue: q, noAck: true });
    },
  },
  {
    name: 'acks: unknown delivery tag 406, double ack 406, ack multiple, ack 0 multiple',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q });
      await p.publishConfirmed(1, ['a', 'b', 'c', 'd'].map((body) => ({ args: { routingKey: q }, body })));
      for (let i = 0; i < 4; i++) await p.call(1, 'basic.get', { queue: q });
      p.send(1, 'basic.ack', { deliveryTag: 2, multiple: true });
      p.send(1, 'basic.ack', { deliveryTag: 0, multiple: true });
      await p.call(1, 'basic.get', { queue: q });
      p.send(1, 'basic.ack', { deliveryTag: 4 });
      await p.waitFor((r) => r.name === 'channel.close', 1500);
      await p.openChannel(2);
      await p.call(2, 'basic.get', { queue: q });
      p.send(2, 'basic.ack', { deliveryTag: 99 });
      await p.waitFor((r) => r.name === 'channel.close' && r.channel === 2, 1500);
      await p.openChannel(3);
      await p.call(3, 'basic.get', { queue: q });
      p.send(3, 'basic.reject', { deliveryTag: 1, requeue: false });
      p.send(3, 'basic.reject', { deliveryTag: 1, requeue: false });
      await p.waitFor((r) => r.name === 'channel.close' && r.channel === 3, 1500);
      await p.openChannel(4);
      await p.call(4, 'queue.delete', { queue: q });
    },
  },
  {
    name: 'basic.consume: consume-ok, deliveries in order, duplicate tag 530, missing queue 404, cancel of an unknown tag',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.publishConfirmed(1, ['1', '2', '3'].map((body) => ({ args: { routingKey: q }, body })));
      await p.call(1, 'basic.consume', { queue: q, consumerTag: 'ctag', noAck: true });
      await p.count(1, 'basic.deliver', 3);
      await p.call(1, 'basic.cancel', { consumerTag: 'not-a-consumer' });
      await p.call(1, 'basic.consume', { queue: q, consumerTag: 'ctag' });
      await p.openChannel(2);
      await p.call(2, 'basic.consume', { queue: s.name('missing') });
      await p.openChannel(3);
      await p.call(3, 'basic.consume', { queue: q, consumerTag: '' });
      await p.call(3, 'basic.cancel', { consumerTag: 'amq.ctag-x' });
    },
  },
  {
    name: 'exclusive consumers: a second consumer 403, an exclusive one on a used queue 403',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.call(1, 'basic.consume', { queue: q, consumerTag: 'ex', exclusive: true });
      await p.openChannel(2);
      await p.call(2, 'basic.consume', { queue: q, consumerTag: 'second' });
      await p.openChannel(3);
      await p.call(3, 'basic.cancel', { consumerTag: 'ex' });
      await p.call(1, 'basic.cancel', { consumerTag: 'ex' });
      await p.call(1, 'basic.consume', { queue: q, consumerTag: 'shared' });
      await p.call(3, 'basic.consume', { queue: q, consumerTag: 'ex2', exclusive: true });
    },
  },
  {
    name: 'basic.qos: per-consumer, global, combined as RabbitMQ combines them; prefetch_size refused',
    async run(s) {
      const p = await s.connect();
      let ch = 0;
      const plans: [number, boolean][][] = [
        [[2, false]],
        [[2, true]],
        [[2, true], [3, false]],
        [[3, false], [2, true]],
      ];
      for (const plan of plans) {
        ch++;
        await p.openChannel(ch);
        const q = s.name(`q${ch}`);
        await p.call(ch, 'queue.declare', { queue: q, exclusive: true });
        await p.publishConfirmed(ch, Array.from({ length: 10 }, (_, i) => ({ args: { routingKey: q }, body: String(i) })));
        for (const [count, global] of plan) await p.call(ch, 'basic.qos', { prefetchCount: count, global });
        await p.call(ch, 'basic.consume', { queue: q, consumerTag: 'a' });
        await p.call(ch, 'basic.consume', { queue: q, consumerTag: 'b' });
        await p.quiet(150);
        // deliveries per consumer, independent of which consumer the broker served first
        const delivered = p.received.filter((r) => r.channel === ch && r.name === 'basic.deliver');
        s.note(`ch${ch}: a=${delivered.filter((r) => r.fields.consumerTag === 'a').length} b=${delivered.filter((r) => r.fields.consumerTag === 'b').length}`);
      }
      await p.openChannel(9);
      await p.call(9, 'basic.qos', { prefetchSize: 1000, prefetchCount: 1 });
    },
    unordered: ['basic.deliver'],
  },
  {
    name: 'mandatory publish of an unroutable message: basic.return 312 NO_ROUTE with its properties, then the confirm',
    async run(s) {
      const p = await s.channel();
      await p.call(1, 'confirm.select');
      p.publish(1, { exchange: 'amq.direct', routingKey: s.name('nowhere'), mandatory: true }, 'lost', { messageId: 'm1', headers: { h: 1 } });
      p.publish(1, { exchange: 'amq.direct', routingKey: s.name('nowhere') }, 'dropped');
      await p.count(1, 'basic.ack', 2);
    },
  },
  {
    name: 'basic.publish errors name basic.publish: missing exchange 404, internal exchange 403, immediate 540, user-id mismatch 406',
    async run(s) {
      const p = await s.connect();
      await p.openChannel(1);
      p.publish(1, { exchange: s.name('missing'), routingKey: 'x' }, 'x');
      await p.waitFor((r) => r.name === 'channel.close' && r.channel === 1);
      await p.openChannel(2);
      await p.call(2, 'exchange.declare', { exchange: s.name('internal'), type: 'fanout', internal: true, autoDelete: false });
      p.publish(2, { exchange: s.name('internal') }, 'x');
      await p.waitFor((r) => r.name === 'channel.close' && r.channel === 2);
      await p.openChannel(3);
      p.publish(3, { routingKey: 'x' }, 'x', { userId: 'someone-else' });
      await p.waitFor((r) => r.name === 'channel.close' && r.channel === 3);
      await p.openChannel(4);
      await p.call(4, 'exchange.delete', { exchange: s.name('internal') });
      p.publish(4, { routingKey: 'x', immediate: true }, 'x');
      await p.waitFor((r) => r.name === 'connection.close');
    },
  },
  {
    name: 'CC and BCC: extra routing keys, BCC removed from what consumers see, wrong types refused 406',
    async run(s) {
      const p = await s.channel();
      const [a, b, c] = [s.name('a'), s.name('b'), s.name('c')];
      for (const q of [a, b, c]) await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.publishConfirmed(1, [{ args: { routingKey: a }, body: 'cc', props: { headers: { CC: [b], BCC: [c, 5] } } }]);
      for (const q of [a, b, c]) await p.call(1, 'basic.get', { queue: q, noAck: true });
      p.publish(1, { routingKey: a }, 'bad', { headers: { CC: b } });
      await p.waitFor((r) => r.name === 'channel.close');
      await p.openChannel(2);
      p.publish(2, { routingKey: a }, 'bad', { headers: { BCC: typed('b', 5) } });
      await p.waitFor((r) => r.name === 'channel.close' && r.channel === 2);
    },
  },
  {
    name: 'invalid expiration property 406; expiration 0 expires unless consumed at once',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.publishConfirmed(1, [{ args: { routingKey: q }, body: 'gone', props: { expiration: '0' } }, { args: { routingKey: q }, body: 'kept', props: { expiration: '60000' } }]);
      await p.call(1, 'basic.get', { queue: q, noAck: true });
      await p.call(1, 'basic.get', { queue: q, noAck: true });
      p.publish(1, { routingKey: q }, 'bad', { expiration: 'soon' });
      await p.waitFor((r) => r.name === 'channel.close');
    },
  },
  {
    name: 'basic.recover requeue=false is refused; recover-async',
    async run(s) {
      const p = await s.channel();
      await p.call(1, 'basic.recover', { requeue: false });
    },
  },
];
