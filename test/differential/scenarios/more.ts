// Corners: names, limits, ownership, equivalence of exchanges, quorum queues, acks across channels.
import type { Scenario } from '../session';
import { frame, FRAME_BODY, FRAME_HEADER, u16, u64 } from '../../helpers/raw-amqp';

export const moreScenarios: Scenario[] = [
  {
    name: 'exchange equivalence compares alternate-exchange only; amq.* exchanges cannot be deleted',
    async run(s) {
      const p = await s.channel();
      const e = s.name('e');
      await p.call(1, 'exchange.declare', { exchange: e, type: 'direct', arguments: { 'alternate-exchange': 'a1', other: 1 } });
      await p.call(1, 'exchange.declare', { exchange: e, type: 'direct', arguments: { 'alternate-exchange': 'a1', other: 2 } });
      await p.call(1, 'exchange.declare', { exchange: e, type: 'direct', arguments: { 'alternate-exchange': 'a2' } });
      await p.openChannel(2);
      await p.call(2, 'exchange.declare', { exchange: e, type: 'direct', autoDelete: true, arguments: { 'alternate-exchange': 'a1' } });
      await p.openChannel(3);
      await p.call(3, 'exchange.declare', { exchange: e, type: 'direct', internal: true, arguments: { 'alternate-exchange': 'a1' } });
      await p.openChannel(4);
      await p.call(4, 'exchange.delete', { exchange: e });
      await p.call(4, 'exchange.delete', { exchange: 'amq.direct' });
      await p.openChannel(5);
      await p.call(5, 'exchange.declare', { exchange: 'amq.direct', type: 'direct', durable: true, passive: true });
      await p.call(5, 'exchange.declare', { exchange: 'amq.direct', type: 'direct', durable: true });
    },
  },
  {
    name: 'the default exchange: publish to a missing queue is dropped (returned when mandatory), amq.default names it',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.publishConfirmed(1, [
        { args: { exchange: 'amq.default', routingKey: q }, body: 'via amq.default' },
        { args: { routingKey: s.name('missing'), mandatory: true }, body: 'returned' },
      ]);
      await p.call(1, 'basic.get', { queue: q, noAck: true });
      await p.call(1, 'exchange.declare', { exchange: '', type: 'direct', passive: true });
      await p.call(1, 'exchange.delete', { exchange: '' });
    },
  },
  {
    name: "another connection's exclusive queue: get, purge, delete, bind are 405",
    async run(s) {
      const owner = await s.channel();
      const q = s.name('q');
      await owner.call(1, 'queue.declare', { queue: q, exclusive: true });
      const other = await s.connect();
      let ch = 0;
      for (const [method, args] of [
        ['basic.get', { queue: q }],
        ['queue.purge', { queue: q }],
        ['queue.delete', { queue: q }],
        ['queue.bind', { queue: q, exchange: 'amq.fanout' }],
        ['queue.unbind', { queue: q, exchange: 'amq.fanout' }],
      ] as const) {
        await other.openChannel(++ch);
        await other.call(ch, method, args);
      }
    },
  },
  {
    name: 'acks after basic.cancel still settle; an ack on another channel is unknown (406)',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.publishConfirmed(1, ['1', '2'].map((body) => ({ args: { routingKey: q }, body })));
      await p.call(1, 'basic.consume', { queue: q, consumerTag: 'c' });
      await p.count(1, 'basic.deliver', 2);
      await p.call(1, 'basic.cancel', { consumerTag: 'c' });
      p.send(1, 'basic.ack', { deliveryTag: 1 });
      await p.call(1, 'queue.declare', { queue: q, passive: true });
      await p.openChannel(2);
      p.send(2, 'basic.ack', { deliveryTag: 2 });
      await p.waitFor((r) => r.channel === 2 && r.name === 'channel.close');
      await p.call(1, 'basic.recover', { requeue: true });
      await p.call(1, 'queue.purge', { queue: q });
      await p.call(1, 'basic.get', { queue: q, noAck: true });
    },
  },
  {
    name: 'purge leaves unacked messages alone; they come back when their channel closes',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q });
      await p.publishConfirmed(1, ['1', '2', '3'].map((body) => ({ args: { routingKey: q }, body })));
      await p.openChannel(2);
      await p.call(2, 'basic.get', { queue: q });
      await p.call(1, 'queue.purge', { queue: q });
      await p.call(2, 'channel.close', { replyCode: 200 });
      await p.call(1, 'queue.declare', { queue: q, passive: true });
      await p.call(1, 'basic.get', { queue: q, noAck: true });
      await p.call(1, 'queue.delete', { queue: q });
    },
  },
  {
    name: 'names: 255 characters accepted, CR and LF stripped, the last declared queue after a server-named one',
    async run(s) {
      const p = await s.channel();
      const long = s.name('x'.repeat(255 - s.name('').length));
      await p.call(1, 'queue.declare', { queue: long, exclusive: true });
      await p.call(1, 'queue.declare', { queue: `${s.name('crlf')}\r\n`, exclusive: true });
      await p.call(1, 'queue.declare', { queue: s.name('crlf'), passive: true });
      await p.call(1, 'exchange.declare', { exchange: `${s.name('ecrlf')}\n`, type: 'fanout', autoDelete: true });
      await p.call(1, 'exchange.declare', { exchange: s.name('ecrlf'), passive: true });
    },
  },
  {
    name: 'channel numbers above channel_max: 530',
    async run(s) {
      const p = await s.connect();
      await p.call(4000, 'channel.open');
    },
  },
  {
    name: 'a frame larger than frame_max: 501',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      const body = Buffer.alloc(200_000, 0x61);
      p.send(1, 'basic.publish', { routingKey: q });
      p.sendRaw(frame(FRAME_HEADER, 1, Buffer.concat([u16(60), u16(0), u64(body.length), u16(0)])), 'header');
      p.sendRaw(frame(FRAME_BODY, 1, body), 'body frame of 200000 bytes');
      await p.waitFor((r) => r.name === 'connection.close');
    },
  },
  {
    name: 'quorum queues: must be durable, neither exclusive nor auto-delete; x-queue-type is compared',
    async run(s) {
      const p = await s.connect();
      const q = s.name('qq');
      await p.openChannel(1);
      await p.call(1, 'queue.declare', { queue: s.name('qq-transient'), arguments: { 'x-queue-type': 'quorum' } });
      await p.openChannel(2);
      await p.call(2, 'queue.declare', { queue: s.name('qq-exclusive'), durable: true, exclusive: true, arguments: { 'x-queue-type': 'quorum' } });
      await p.openChannel(3);
      await p.call(3, 'queue.declare', { queue: s.name('qq-ad'), durable: true, autoDelete: true, arguments: { 'x-queue-type': 'quorum' } });
      await p.openChannel(4);
      await p.call(4, 'queue.declare', { queue: q, durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await p.call(4, 'queue.declare', { queue: q, durable: true });
      await p.openChannel(5);
      await p.call(5, 'queue.declare', { queue: q, durable: true, arguments: { 'x-queue-type': 'classic' } });
      await p.openChannel(6);
      await p.call(6, 'queue.delete', { queue: q });
    },
  },
  {
    name: 'consumer arguments: x-priority of the wrong type',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.call(1, 'basic.consume', { queue: q, consumerTag: 'odd', arguments: { 'x-priority': 'high' } });
    },
  },
  {
    name: 'reject-publish-dlx: the refused message is dead-lettered and nacked',
    async run(s) {
      const p = await s.channel();
      const [q, dead] = [s.name('q'), s.name('dead')];
      await p.call(1, 'queue.declare', { queue: dead, exclusive: true });
      await p.call(1, 'queue.declare', { queue: q, exclusive: true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish-dlx', 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dead } });
      await p.openChannel(2);
      await p.call(2, 'basic.consume', { queue: dead, consumerTag: 'dead', noAck: true });
      await p.publishConfirmed(1, [{ args: { routingKey: q }, body: 'kept' }, { args: { routingKey: q }, body: 'refused' }]);
      await p.count(2, 'basic.deliver', 1);
      await p.call(1, 'basic.get', { queue: q, noAck: true });
    },
    normalize: (line) => line.replace(/,x-last-death-(exchange|queue|reason)=S:"[^"]*"/g, ''),
  },
];
