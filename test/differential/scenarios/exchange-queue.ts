// exchange and queue classes: declarations, equivalence, argument validation, bindings, purge and delete.
import type { Scenario } from '../session';
import { typed } from '../wire';

export const exchangeQueueScenarios: Scenario[] = [
  {
    name: 'exchange.declare of each type, redeclare, passive, delete, delete again',
    async run(s) {
      const p = await s.channel();
      for (const type of ['direct', 'fanout', 'topic', 'headers']) {
        const e = s.name(type);
        await p.call(1, 'exchange.declare', { exchange: e, type, autoDelete: false });
        await p.call(1, 'exchange.declare', { exchange: e, type });
        await p.call(1, 'exchange.declare', { exchange: e, passive: true });
        await p.call(1, 'exchange.delete', { exchange: e });
      }
      await p.call(1, 'exchange.delete', { exchange: s.name('never-declared') });
    },
  },
  {
    name: 'exchange.declare passive of a missing exchange: 404',
    async run(s) {
      const p = await s.channel();
      await p.call(1, 'exchange.declare', { exchange: s.name('missing'), passive: true });
    },
  },
  {
    name: 'exchange.declare with another type: 406 inequivalent',
    async run(s) {
      const p = await s.channel();
      await p.call(1, 'exchange.declare', { exchange: s.name('e'), type: 'direct' });
      await p.call(1, 'exchange.declare', { exchange: s.name('e'), type: 'fanout' });
      await p.openChannel(2);
      await p.call(2, 'exchange.declare', { exchange: s.name('e'), type: 'direct', durable: true });
      await p.openChannel(3);
      await p.call(3, 'exchange.delete', { exchange: s.name('e') });
    },
  },
  {
    name: 'exchange.declare of an amq. name: 403',
    async run(s) {
      const q = await s.channel();
      await q.call(1, 'exchange.declare', { exchange: 'amq.mine', type: 'direct' });
    },
  },
  {
    name: 'exchange.declare of an unknown type: a channel error 406 (RabbitMQ 4.x)',
    async run(s) {
      const p = await s.channel();
      await p.call(1, 'exchange.declare', { exchange: s.name('odd'), type: 'no-such-type' });
    },
    deliberate: {
      reason: "3.10 closes the connection with 503 COMMAND_INVALID; 4.x's check_type raises precondition_failed, a channel error",
      expected: () => ['c1.ch0 connection.close-ok', 'c1.ch1 channel.open-ok channelId=', 'c1.ch1 channel.close replyCode=406 replyText=PRECONDITION_FAILED classId=40 methodId=10'],
    },
  },
  {
    name: 'exchange.delete if-unused of a bound exchange: 406',
    async run(s) {
      const p = await s.channel();
      const e = s.name('e');
      await p.call(1, 'exchange.declare', { exchange: e, type: 'fanout' });
      await p.call(1, 'queue.declare', { queue: s.name('q'), exclusive: true });
      await p.call(1, 'queue.bind', { queue: s.name('q'), exchange: e });
      await p.call(1, 'exchange.delete', { exchange: e, ifUnused: true });
      await p.openChannel(2);
      await p.call(2, 'exchange.delete', { exchange: e });
    },
  },
  {
    name: 'exchange.bind / unbind route between exchanges; binding a missing source: 404',
    async run(s) {
      const p = await s.channel();
      const [src, dst, q] = [s.name('src'), s.name('dst'), s.name('q')];
      await p.call(1, 'exchange.declare', { exchange: src, type: 'topic', autoDelete: true });
      await p.call(1, 'exchange.declare', { exchange: dst, type: 'fanout' });
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.call(1, 'queue.bind', { queue: q, exchange: dst });
      await p.call(1, 'exchange.bind', { destination: dst, source: src, routingKey: 'a.*' });
      await p.publishConfirmed(1, [{ args: { exchange: src, routingKey: 'a.b' }, body: 'routed' }, { args: { exchange: src, routingKey: 'b.b' }, body: 'not routed' }]);
      await p.call(1, 'basic.get', { queue: q, noAck: true });
      await p.call(1, 'basic.get', { queue: q, noAck: true });
      await p.call(1, 'exchange.unbind', { destination: dst, source: src, routingKey: 'a.*' });
      await p.call(1, 'exchange.declare', { exchange: src, passive: true });
      await p.call(1, 'exchange.delete', { exchange: dst });
      await p.call(1, 'exchange.bind', { destination: dst, source: s.name('nope'), routingKey: '' });
    },
  },
  {
    name: 'queue.declare: server-named, redeclared, passive, counts; an empty name is the last declared queue, except for a passive declare',
    async run(s) {
      const p = await s.channel();
      await p.call(1, 'queue.declare', { queue: '', exclusive: true });
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.publishConfirmed(1, [{ args: { routingKey: q }, body: 'one' }, { args: { routingKey: q }, body: 'two' }]);
      await p.call(1, 'queue.declare', { queue: q, passive: true });
      await p.call(1, 'queue.purge', { queue: '' });
      await p.call(1, 'queue.bind', { queue: '', exchange: 'amq.fanout' });
      await p.call(1, 'queue.unbind', { queue: '', exchange: 'amq.fanout' });
      await p.call(1, 'queue.declare', { queue: '', passive: true });
      await p.openChannel(2);
      await p.call(2, 'queue.purge', { queue: '' });
      await p.openChannel(3);
      await p.call(3, 'queue.delete', { queue: q });
    },
  },
  {
    name: 'queue.declare passive of a missing queue: 404; of an amq. name: 403',
    async run(s) {
      const p = await s.channel();
      await p.call(1, 'queue.declare', { queue: s.name('missing'), passive: true });
      await p.openChannel(2);
      await p.call(2, 'queue.declare', { queue: 'amq.mine' });
    },
  },
  {
    name: 'queue equivalence: durable and auto-delete differ 406, a non-x- or unknown x- argument does not, a known one does',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, autoDelete: false, arguments: { purpose: 'a', 'x-max-length': 10, 'x-not-a-rabbit-arg': 1 } });
      await p.call(1, 'queue.declare', { queue: q, arguments: { purpose: 'b', 'x-max-length': 10 } });
      await p.call(1, 'queue.declare', { queue: q, arguments: { 'x-max-length': 10 } });
      await p.call(1, 'queue.declare', { queue: q, arguments: { 'x-max-length': 11 } });
      await p.openChannel(2);
      await p.call(2, 'queue.declare', { queue: q, durable: true, arguments: { 'x-max-length': 10 } });
      await p.openChannel(3);
      await p.call(3, 'queue.declare', { queue: q, autoDelete: true, arguments: { 'x-max-length': 10 } });
      await p.openChannel(4);
      await p.call(4, 'queue.declare', { queue: q, arguments: { 'x-max-length': typed('l', 10) } });
      await p.openChannel(5);
      await p.call(5, 'queue.declare', { queue: q, arguments: { 'x-max-length': 10, 'x-message-ttl': 5 } });
      await p.openChannel(6);
      await p.call(6, 'queue.delete', { queue: q });
    },
  },
  {
    name: 'exclusive queues: redeclared by the owner, refused to another connection (405), exclusive flag differs',
    async run(s) {
      const owner = await s.channel();
      const q = s.name('q');
      await owner.call(1, 'queue.declare', { queue: q, exclusive: true });
      await owner.call(1, 'queue.declare', { queue: q, exclusive: true });
      await owner.call(1, 'queue.declare', { queue: q });
      const other = await s.channel();
      await other.call(1, 'queue.declare', { queue: q, exclusive: true });
      const third = await s.channel();
      await third.call(1, 'queue.declare', { queue: q, passive: true });
      const fourth = await s.channel();
      await fourth.call(1, 'basic.consume', { queue: q });
      const fifth = await s.channel();
      await fifth.call(1, 'queue.delete', { queue: q });
    },
  },
  {
    name: 'a non-exclusive queue redeclared exclusive',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q });
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.openChannel(2);
      await p.call(2, 'queue.delete', { queue: q });
    },
  },
  {
    name: 'queue argument validation: wrong types and out-of-range values',
    async run(s) {
      const p = await s.connect();
      const cases: Record<string, unknown>[] = [
        { 'x-max-length': -1 },
        { 'x-max-length': 'ten' },
        { 'x-message-ttl': -5 },
        { 'x-message-ttl': 'soon' },
        { 'x-expires': 0 },
        { 'x-max-priority': 256 },
        { 'x-max-priority': -1 },
        { 'x-overflow': 'drop-tail' },
        { 'x-queue-type': 'unknown' },
        { 'x-dead-letter-exchange': 5 },
        { 'x-dead-letter-routing-key': 'rk' },
        { 'x-single-active-consumer': 'yes' },
        { 'x-max-length-bytes': typed('d', 1.5) },
        { 'x-queue-mode': 'sideways' },
      ];
      let ch = 1;
      for (const args of cases) {
        await p.openChannel(ch);
        await p.call(ch, 'queue.declare', { queue: s.name(`q${ch}`), exclusive: true, arguments: args as never });
        ch++;
      }
    },
  },
  {
    name: 'queue.bind to a missing exchange 404, of a missing queue 404, to the default exchange 403; unbind of a missing binding',
    async run(s) {
      const p = await s.connect();
      const q = s.name('q');
      await p.openChannel(1);
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.call(1, 'queue.unbind', { queue: q, exchange: 'amq.direct', routingKey: 'never-bound' });
      await p.call(1, 'queue.bind', { queue: q, exchange: s.name('missing') });
      await p.openChannel(2);
      await p.call(2, 'queue.bind', { queue: s.name('missing-q'), exchange: 'amq.direct' });
      await p.openChannel(3);
      await p.call(3, 'queue.bind', { queue: q, exchange: '' });
      await p.openChannel(4);
      await p.call(4, 'queue.unbind', { queue: q, exchange: s.name('missing') });
    },
  },
  {
    name: 'queue.delete if-empty and if-unused: 406; of a missing queue: delete-ok 0; purge of a missing queue 404',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.publishConfirmed(1, [{ args: { routingKey: q }, body: 'x' }]);
      await p.call(1, 'queue.delete', { queue: q, ifEmpty: true });
      await p.openChannel(2);
      await p.call(2, 'basic.consume', { queue: q, consumerTag: 'c' });
      await p.call(2, 'queue.delete', { queue: q, ifUnused: true });
      await p.openChannel(3);
      await p.call(3, 'queue.delete', { queue: s.name('missing') });
      await p.call(3, 'queue.purge', { queue: s.name('missing') });
    },
  },
  {
    name: 'queue.delete with a consumer on the same channel: delete-ok, then basic.cancel',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q });
      await p.call(1, 'basic.consume', { queue: q, consumerTag: 'mine' });
      await p.call(1, 'queue.delete', { queue: q });
      await p.count(1, 'basic.cancel', 1);
    },
  },
  {
    name: 'queue.delete with a consumer on another connection: it gets basic.cancel',
    async run(s) {
      const c = await s.channel();
      const q = s.name('q');
      await c.call(1, 'queue.declare', { queue: q });
      await c.call(1, 'basic.consume', { queue: q, consumerTag: 'theirs' });
      const d = await s.channel();
      await d.call(1, 'queue.delete', { queue: q });
      await c.count(1, 'basic.cancel', 1);
    },
  },
  {
    name: 'nowait variants answer nothing',
    async run(s) {
      const p = await s.channel();
      const [q, e] = [s.name('q'), s.name('e')];
      p.send(1, 'exchange.declare', { exchange: e, type: 'direct', nowait: true });
      p.send(1, 'queue.declare', { queue: q, exclusive: true, nowait: true });
      p.send(1, 'queue.bind', { queue: q, exchange: e, routingKey: 'k', nowait: true });
      p.send(1, 'basic.consume', { queue: q, consumerTag: 'nw', nowait: true, noAck: true });
      p.publish(1, { exchange: e, routingKey: 'k' }, 'x');
      await p.count(1, 'basic.deliver', 1);
      p.send(1, 'basic.cancel', { consumerTag: 'nw', nowait: true });
      p.send(1, 'queue.purge', { queue: q, nowait: true });
      p.send(1, 'exchange.delete', { exchange: e, nowait: true });
      await p.call(1, 'queue.delete', { queue: q });
    },
  },
];
