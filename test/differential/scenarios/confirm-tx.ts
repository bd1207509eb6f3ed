// confirm and tx classes.
import type { Scenario } from '../session';

export const confirmTxScenarios: Scenario[] = [
  {
    name: 'confirm.select: sequence numbers from 1, nowait, select twice',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      await p.publishConfirmed(1, ['a', 'b', 'c'].map((body) => ({ args: { routingKey: q }, body })));
      await p.call(1, 'confirm.select');
      await p.openChannel(2);
      p.send(2, 'confirm.select', { nowait: true });
      p.publish(2, { routingKey: q }, 'd');
      await p.count(2, 'basic.ack', 1);
    },
  },
  {
    name: 'tx on a confirm channel 406, confirm on a tx channel 406',
    async run(s) {
      const p = await s.connect();
      await p.openChannel(1);
      await p.call(1, 'confirm.select');
      await p.call(1, 'tx.select');
      await p.openChannel(2);
      await p.call(2, 'tx.select');
      await p.call(2, 'confirm.select');
    },
  },
  {
    name: 'tx.commit / tx.rollback of publishes and acks; commit and rollback without select 406',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q });
      await p.call(1, 'tx.select');
      p.publish(1, { routingKey: q }, 'rolled back');
      await p.call(1, 'tx.rollback');
      await p.call(1, 'queue.declare', { queue: q, passive: true });
      p.publish(1, { routingKey: q }, 'one');
      p.publish(1, { routingKey: q }, 'two');
      await p.call(1, 'queue.declare', { queue: q, passive: true });
      await p.call(1, 'tx.commit');
      await p.call(1, 'queue.declare', { queue: q, passive: true });
      await p.call(1, 'basic.get', { queue: q });
      await p.call(1, 'basic.get', { queue: q });
      p.send(1, 'basic.ack', { deliveryTag: 1 });
      p.send(1, 'basic.reject', { deliveryTag: 2, requeue: true });
      await p.call(1, 'tx.rollback');
      await p.call(1, 'queue.declare', { queue: q, passive: true });
      p.send(1, 'basic.ack', { deliveryTag: 2 });
      await p.call(1, 'tx.commit');
      await p.call(1, 'queue.declare', { queue: q, passive: true });
      await p.openChannel(2);
      await p.call(2, 'tx.commit');
      await p.openChannel(3);
      await p.call(3, 'tx.rollback');
      await p.openChannel(4);
      await p.call(4, 'queue.delete', { queue: q });
    },
  },
  {
    name: 'publishing to a missing exchange inside a transaction',
    async run(s) {
      const p = await s.channel();
      await p.call(1, 'tx.select');
      p.publish(1, { exchange: s.name('missing'), routingKey: 'x' }, 'x');
      await p.call(1, 'tx.commit');
    },
  },
  {
    name: 'confirms for a queue with x-overflow reject-publish: nack when full',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
      await p.publishConfirmed(1, [{ args: { routingKey: q }, body: '1' }, { args: { routingKey: q }, body: '2' }]);
      await p.call(1, 'basic.get', { queue: q, noAck: true });
      await p.call(1, 'basic.get', { queue: q, noAck: true });
    },
  },
];
