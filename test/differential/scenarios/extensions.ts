// RabbitMQ's extension arguments and features: TTLs, length limits, dead lettering, priorities, alternate
// exchanges, headers and topic routing, consumer priorities, single active consumer, auto-delete, direct reply-to.
import type { Scenario } from '../session';

/** The x-last-death-* headers are 4.x's (3.13 on); 3.10 sends only the x-first-death-* ones. */
function withoutLastDeath(line: string): string {
  return line.replace(/,x-last-death-(exchange|queue|reason)=S:"[^"]*"/g, '');
}

export const extensionScenarios: Scenario[] = [
  {
    name: 'dead lettering on reject with x-death headers, then on expiry, then on maxlen',
    async run(s) {
      const p = await s.channel();
      const [dlx, dead, work] = [s.name('dlx'), s.name('dead'), s.name('work')];
      await p.call(1, 'exchange.declare', { exchange: dlx, type: 'fanout' });
      await p.call(1, 'queue.declare', { queue: dead, exclusive: true });
      await p.call(1, 'queue.bind', { queue: dead, exchange: dlx });
      await p.call(1, 'queue.declare', { queue: work, exclusive: true, arguments: { 'x-dead-letter-exchange': dlx, 'x-dead-letter-routing-key': 'dl-key', 'x-max-length': 2 } });
      await p.openChannel(2);
      await p.call(2, 'basic.consume', { queue: dead, consumerTag: 'dead', noAck: true });
      await p.publishConfirmed(1, [{ args: { routingKey: work }, body: 'rejected', props: { headers: { own: 'header' }, messageId: 'r1' } }]);
      await p.call(1, 'basic.get', { queue: work });
      p.send(1, 'basic.reject', { deliveryTag: 1, requeue: false });
      await p.count(2, 'basic.deliver', 1);
      await p.publishConfirmed(1, [{ args: { routingKey: work }, body: 'expired', props: { expiration: '0' } }]);
      await p.count(2, 'basic.deliver', 2);
      await p.publishConfirmed(1, ['a', 'b', 'c'].map((body) => ({ args: { routingKey: work }, body })));
      await p.count(2, 'basic.deliver', 3);
      await p.call(1, 'queue.declare', { queue: work, passive: true });
      await p.call(1, 'exchange.delete', { exchange: dlx });
    },
    normalize: withoutLastDeath,
  },
  {
    name: 'a message dead-lettered twice through the same queue accumulates x-death counts',
    async run(s) {
      const p = await s.channel();
      const [a, b] = [s.name('a'), s.name('b')];
      await p.call(1, 'queue.declare', { queue: a, exclusive: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': b } });
      await p.call(1, 'queue.declare', { queue: b, exclusive: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': a } });
      await p.call(1, 'basic.consume', { queue: a, consumerTag: 'a' });
      await p.call(1, 'basic.consume', { queue: b, consumerTag: 'b' });
      await p.publishConfirmed(1, [{ args: { routingKey: a }, body: 'bounce' }]);
      for (let n = 1; n <= 4; n++) {
        await p.count(1, 'basic.deliver', n);
        if (n < 4) p.send(1, 'basic.reject', { deliveryTag: n, requeue: false });
      }
    },
    normalize: withoutLastDeath,
  },
  {
    name: 'per-queue message TTL and queue length in bytes with drop-head',
    async run(s) {
      const p = await s.channel();
      const [ttl, bytes] = [s.name('ttl'), s.name('bytes')];
      await p.call(1, 'queue.declare', { queue: ttl, exclusive: true, arguments: { 'x-message-ttl': 0 } });
      await p.call(1, 'queue.declare', { queue: bytes, exclusive: true, arguments: { 'x-max-length-bytes': 5 } });
      await p.publishConfirmed(1, [
        { args: { routingKey: ttl }, body: 'gone' },
        { args: { routingKey: bytes }, body: 'abc' },
        { args: { routingKey: bytes }, body: 'def' },
        { args: { routingKey: bytes }, body: 'g' },
      ]);
      await p.call(1, 'basic.get', { queue: ttl, noAck: true });
      await p.call(1, 'queue.declare', { queue: bytes, passive: true });
      await p.call(1, 'basic.get', { queue: bytes, noAck: true });
      await p.call(1, 'basic.get', { queue: bytes, noAck: true });
    },
  },
  {
    name: 'alternate exchange takes what its exchange cannot route; mandatory then sees it routed',
    async run(s) {
      const p = await s.channel();
      const [main, alt, q] = [s.name('main'), s.name('alt'), s.name('q')];
      await p.call(1, 'exchange.declare', { exchange: alt, type: 'fanout' });
      await p.call(1, 'exchange.declare', { exchange: main, type: 'direct', arguments: { 'alternate-exchange': alt } });
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.call(1, 'queue.bind', { queue: q, exchange: alt });
      await p.publishConfirmed(1, [{ args: { exchange: main, routingKey: 'nothing-bound', mandatory: true }, body: 'to alt' }]);
      await p.call(1, 'basic.get', { queue: q, noAck: true });
      await p.call(1, 'exchange.delete', { exchange: main });
      await p.call(1, 'exchange.delete', { exchange: alt });
    },
  },
  {
    name: 'headers exchange: x-match all and any, with typed values',
    async run(s) {
      const p = await s.channel();
      const [e, all, any] = [s.name('h'), s.name('all'), s.name('any')];
      await p.call(1, 'exchange.declare', { exchange: e, type: 'headers', autoDelete: true });
      await p.call(1, 'queue.declare', { queue: all, exclusive: true });
      await p.call(1, 'queue.declare', { queue: any, exclusive: true });
      await p.call(1, 'queue.bind', { queue: all, exchange: e, arguments: { 'x-match': 'all', a: 1, b: 'two' } });
      await p.call(1, 'queue.bind', { queue: any, exchange: e, arguments: { 'x-match': 'any', a: 1, c: true } });
      await p.publishConfirmed(1, [
        { args: { exchange: e }, body: 'both', props: { headers: { a: 1, b: 'two' } } },
        { args: { exchange: e }, body: 'any-only', props: { headers: { c: true } } },
        { args: { exchange: e }, body: 'none', props: { headers: { a: 2 } } },
        { args: { exchange: e }, body: 'no headers' },
      ]);
      for (const q of [all, all, any, any, any]) await p.call(1, 'basic.get', { queue: q, noAck: true });
      await p.call(1, 'queue.bind', { queue: all, exchange: e, arguments: { 'x-match': 'sometimes' } });
    },
  },
  {
    name: 'topic routing: * and # patterns, empty words',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      for (const key of ['a.*.c', 'x.#', '#.end', 'exact.key', '*']) await p.call(1, 'queue.bind', { queue: q, exchange: 'amq.topic', routingKey: key });
      const keys = ['a.b.c', 'a..c', 'a.b.b.c', 'x', 'x.y.z', 'the.end', 'end', 'exact.key', 'exact', '', 'nope.nope'];
      await p.publishConfirmed(1, keys.map((routingKey) => ({ args: { exchange: 'amq.topic', routingKey }, body: routingKey })));
      for (let i = 0; i < keys.length; i++) await p.call(1, 'basic.get', { queue: q, noAck: true });
    },
  },
  {
    name: 'consumer priorities: the higher priority consumer is served while it has credit',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.call(1, 'basic.qos', { prefetchCount: 2 });
      await p.call(1, 'basic.consume', { queue: q, consumerTag: 'low', arguments: { 'x-priority': 1 } });
      await p.call(1, 'basic.consume', { queue: q, consumerTag: 'high', arguments: { 'x-priority': 10 } });
      await p.publishConfirmed(1, ['1', '2', '3', '4'].map((body) => ({ args: { routingKey: q }, body })));
      await p.count(1, 'basic.deliver', 4);
    },
  },
  {
    name: 'single active consumer: only the first consumer receives until it is cancelled',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true, arguments: { 'x-single-active-consumer': true } });
      await p.call(1, 'basic.consume', { queue: q, consumerTag: 'first', noAck: true });
      await p.call(1, 'basic.consume', { queue: q, consumerTag: 'second', noAck: true });
      await p.publishConfirmed(1, [{ args: { routingKey: q }, body: '1' }, { args: { routingKey: q }, body: '2' }]);
      await p.count(1, 'basic.deliver', 2);
      await p.call(1, 'basic.cancel', { consumerTag: 'first' });
      await p.publishConfirmed(1, [{ args: { routingKey: q }, body: '3' }]);
      await p.count(1, 'basic.deliver', 3);
    },
  },
  {
    name: 'auto-delete queue goes with its last consumer; exclusive queue with its connection',
    async run(s) {
      const p = await s.channel();
      const [ad, ex] = [s.name('ad'), s.name('ex')];
      await p.call(1, 'queue.declare', { queue: ad, autoDelete: true });
      await p.call(1, 'basic.consume', { queue: ad, consumerTag: 'only' });
      await p.call(1, 'basic.cancel', { consumerTag: 'only' });
      await p.quiet(100);
      await p.call(1, 'queue.declare', { queue: ad, passive: true });
      const owner = await s.channel();
      await owner.call(1, 'queue.declare', { queue: ex, exclusive: true });
      await owner.close();
      await p.quiet(100);
      await p.openChannel(2);
      await p.call(2, 'queue.declare', { queue: ex, passive: true });
    },
  },
  {
    name: 'direct reply-to: consume, publish with reply-to, the reply arrives; misuse refused',
    async run(s) {
      const p = await s.channel();
      const server = s.name('rpc');
      await p.call(1, 'queue.declare', { queue: server, exclusive: true });
      await p.call(1, 'basic.consume', { queue: 'amq.rabbitmq.reply-to', consumerTag: 'replies', noAck: true });
      p.publish(1, { routingKey: server }, 'request', { replyTo: 'amq.rabbitmq.reply-to', correlationId: 'c1' });
      const got = await p.waitFor(() => false, 200);
      void got;
      await p.call(1, 'basic.get', { queue: server, noAck: true });
      await p.openChannel(2);
      p.publish(2, { routingKey: server }, 'request', { replyTo: 'amq.rabbitmq.reply-to' });
      await p.waitFor((r) => r.channel === 2 && r.name === 'channel.close', 1500);
      await p.openChannel(3);
      await p.call(3, 'basic.consume', { queue: 'amq.rabbitmq.reply-to', consumerTag: 'acking', noAck: false });
    },
  },
  {
    name: 'queue x-expires deletes an unused queue',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, arguments: { 'x-expires': 100 } });
      await p.quiet(400);
      await p.call(1, 'queue.declare', { queue: q, passive: true });
    },
  },
];
