// Routing corners and delivery flow: headers matching variants, exchange-to-exchange chains, large bodies,
// prefetch credit, noLocal, TTL interplay, dead lettering of nacked batches.
import type { Scenario } from '../session';
import { frame, FRAME_BODY, FRAME_HEADER, u16, u64 } from '../../helpers/raw-amqp';

export const routingDeliveryScenarios: Scenario[] = [
  {
    name: 'headers exchange: all-with-x and any-with-x also match x- headers; a binding without x-match is all',
    async run(s) {
      const p = await s.channel();
      const [e, allx, anyx, dflt] = [s.name('h'), s.name('allx'), s.name('anyx'), s.name('dflt')];
      await p.call(1, 'exchange.declare', { exchange: e, type: 'headers', autoDelete: true });
      for (const q of [allx, anyx, dflt]) await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.call(1, 'queue.bind', { queue: allx, exchange: e, arguments: { 'x-match': 'all-with-x', 'x-kind': 'a', n: 1 } });
      await p.call(1, 'queue.bind', { queue: anyx, exchange: e, arguments: { 'x-match': 'any-with-x', 'x-kind': 'a' } });
      await p.call(1, 'queue.bind', { queue: dflt, exchange: e, arguments: { n: 1, m: 2 } });
      await p.publishConfirmed(1, [
        { args: { exchange: e }, body: 'x-kind and n', props: { headers: { 'x-kind': 'a', n: 1 } } },
        { args: { exchange: e }, body: 'n and m', props: { headers: { n: 1, m: 2 } } },
        { args: { exchange: e }, body: 'n only', props: { headers: { n: 1 } } },
      ]);
      for (const q of [allx, allx, anyx, anyx, dflt, dflt]) await p.call(1, 'basic.get', { queue: q, noAck: true });
    },
  },
  {
    name: 'exchange-to-exchange chains with a loop deliver each message once per queue',
    async run(s) {
      const p = await s.channel();
      const [a, b, q] = [s.name('a'), s.name('b'), s.name('q')];
      await p.call(1, 'exchange.declare', { exchange: a, type: 'fanout', autoDelete: false });
      await p.call(1, 'exchange.declare', { exchange: b, type: 'fanout', autoDelete: false });
      await p.call(1, 'exchange.bind', { destination: b, source: a });
      await p.call(1, 'exchange.bind', { destination: a, source: b });
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.call(1, 'queue.bind', { queue: q, exchange: a });
      await p.call(1, 'queue.bind', { queue: q, exchange: b });
      await p.publishConfirmed(1, [{ args: { exchange: a }, body: 'once' }]);
      await p.call(1, 'queue.declare', { queue: q, passive: true });
      await p.call(1, 'exchange.delete', { exchange: a });
      await p.call(1, 'exchange.delete', { exchange: b });
    },
  },
  {
    name: 'a body split over several frames, and an empty body, arrive whole',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.call(1, 'confirm.select');
      const body = Buffer.alloc(300_000);
      for (let i = 0; i < body.length; i++) body[i] = 97 + (i % 26);
      p.send(1, 'basic.publish', { routingKey: q });
      p.sendRaw(frame(FRAME_HEADER, 1, Buffer.concat([u16(60), u16(0), u64(body.length), u16(0)])), 'header');
      for (let at = 0; at < body.length; at += 100_000) p.sendRaw(frame(FRAME_BODY, 1, body.subarray(at, at + 100_000)), `body ${at}`);
      p.publish(1, { routingKey: q }, '');
      await p.count(1, 'basic.ack', 2);
      await p.call(1, 'basic.get', { queue: q, noAck: true });
      await p.call(1, 'basic.get', { queue: q, noAck: true });
    },
  },
  {
    name: 'prefetch credit: each ack lets exactly one more delivery through',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.publishConfirmed(1, Array.from({ length: 6 }, (_, i) => ({ args: { routingKey: q }, body: String(i) })));
      await p.call(1, 'basic.qos', { prefetchCount: 2 });
      await p.call(1, 'basic.consume', { queue: q, consumerTag: 'c' });
      await p.count(1, 'basic.deliver', 2);
      await p.quiet(100);
      p.send(1, 'basic.ack', { deliveryTag: 1 });
      await p.count(1, 'basic.deliver', 3);
      await p.quiet(100);
      p.send(1, 'basic.ack', { deliveryTag: 3, multiple: true });
      await p.count(1, 'basic.deliver', 5);
      await p.quiet(100);
      await p.call(1, 'basic.qos', { prefetchCount: 0 });
      await p.count(1, 'basic.deliver', 6);
    },
  },
  {
    name: 'basic.consume no-local is accepted and ignored; basic.get works beside a consumer',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.call(1, 'basic.qos', { prefetchCount: 1 });
      await p.call(1, 'basic.consume', { queue: q, consumerTag: 'c', noLocal: true });
      await p.publishConfirmed(1, [{ args: { routingKey: q }, body: 'own' }, { args: { routingKey: q }, body: 'second' }]);
      await p.count(1, 'basic.deliver', 1);
      await p.call(1, 'basic.get', { queue: q });
    },
  },
  {
    name: 'per-message TTL below the queue TTL; a requeued message keeps its expiry',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true, arguments: { 'x-message-ttl': 60000 } });
      await p.publishConfirmed(1, [
        { args: { routingKey: q }, body: 'short', props: { expiration: '50' } },
        { args: { routingKey: q }, body: 'long' },
      ]);
      await p.quiet(200);
      await p.call(1, 'basic.get', { queue: q });
      p.send(1, 'basic.reject', { deliveryTag: 1, requeue: true });
      await p.call(1, 'basic.get', { queue: q, noAck: true });
      await p.call(1, 'basic.get', { queue: q, noAck: true });
    },
  },
  {
    name: 'nack multiple without requeue dead-letters the batch in order',
    async run(s) {
      const p = await s.channel();
      const [q, dead] = [s.name('q'), s.name('dead')];
      await p.call(1, 'queue.declare', { queue: dead, exclusive: true });
      await p.call(1, 'queue.declare', { queue: q, exclusive: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dead } });
      await p.openChannel(2);
      await p.call(2, 'basic.consume', { queue: dead, consumerTag: 'dead', noAck: true });
      await p.publishConfirmed(1, ['1', '2', '3'].map((body) => ({ args: { routingKey: q }, body })));
      for (let i = 0; i < 3; i++) await p.call(1, 'basic.get', { queue: q });
      p.send(1, 'basic.nack', { deliveryTag: 3, multiple: true, requeue: false });
      await p.count(2, 'basic.deliver', 3);
    },
    normalize: (line) => line.replace(/,x-last-death-(exchange|queue|reason)=S:"[^"]*"/g, ''),
  },
  {
    name: 'single active consumer follows consumer priority when the active one goes',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true, arguments: { 'x-single-active-consumer': true } });
      await p.call(1, 'basic.consume', { queue: q, consumerTag: 'first', noAck: true });
      await p.call(1, 'basic.consume', { queue: q, consumerTag: 'low', noAck: true, arguments: { 'x-priority': 1 } });
      await p.call(1, 'basic.consume', { queue: q, consumerTag: 'high', noAck: true, arguments: { 'x-priority': 5 } });
      await p.call(1, 'basic.cancel', { consumerTag: 'first' });
      await p.publishConfirmed(1, [{ args: { routingKey: q }, body: 'who' }]);
      await p.count(1, 'basic.deliver', 1);
    },
  },
  {
    name: 'basic.recover-async requeues (deprecated but answered by nothing)',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.publishConfirmed(1, [{ args: { routingKey: q }, body: 'x' }]);
      await p.call(1, 'basic.get', { queue: q });
      p.send(1, 'basic.recover-async', { requeue: true });
      await p.call(1, 'basic.get', { queue: q, noAck: true });
    },
  },
  {
    name: 'other queue arguments: x-queue-version, x-queue-master-locator, x-consumer-timeout, x-dead-letter-strategy on a classic queue',
    async run(s) {
      const p = await s.connect();
      const cases: Record<string, unknown>[] = [
        { 'x-queue-version': 2 },
        { 'x-queue-version': 3 },
        { 'x-queue-master-locator': 'client-local' },
        { 'x-consumer-timeout': 1000 },
        { 'x-dead-letter-strategy': 'at-least-once' },
        { 'x-max-priority': 0 },
      ];
      let ch = 0;
      for (const args of cases) {
        await p.openChannel(++ch);
        await p.call(ch, 'queue.declare', { queue: s.name(`q${ch}`), exclusive: true, arguments: args as never });
      }
    },
  },
  {
    name: 'x-queue-master-locator with an unknown strategy (refused by 4.x)',
    async run(s) {
      const p = await s.channel();
      await p.call(1, 'queue.declare', { queue: s.name('q'), exclusive: true, arguments: { 'x-queue-master-locator': 'anywhere' } });
    },
    deliberate: {
      reason: '3.10 accepts any value; 4.x refuses a strategy other than client-local, min-masters or random with 406',
      expected: (t) => t.map((l) => (l.startsWith('c1.ch1 queue.declare-ok') ? 'c1.ch1 channel.close replyCode=406 replyText=PRECONDITION_FAILED classId=50 methodId=10' : l)),
    },
  },
  {
    name: 'x-queue-leader-locator on a classic queue (accepted by 4.x)',
    async run(s) {
      const p = await s.channel();
      await p.call(1, 'queue.declare', { queue: s.name('q'), exclusive: true, arguments: { 'x-queue-leader-locator': 'balanced' } });
    },
    deliberate: {
      reason: '3.10 accepts x-queue-leader-locator only for quorum queues and streams; 4.x places classic queues with it too',
      expected: (t, prefix) => t.map((l) => (l.startsWith('c1.ch1 channel.close replyCode=406') ? `c1.ch1 queue.declare-ok queue=${prefix}.q messageCount=0 consumerCount=0` : l)),
    },
  },
];
