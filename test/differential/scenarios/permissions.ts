// Permissions: vhost access, and configure / write / read checks on each method that needs them.
import type { Scenario } from '../session';

/** A user without any permission, and one allowed only resources named own.*, on vhost '/'. */
export const NO_ACCESS = { user: 'diff-noaccess', password: 'diff-pw' };
export const LIMITED = { user: 'diff-limited', password: 'diff-pw' };

/** Creates the scenarios' users with rabbitmqctl or warrenctl (the same commands for both). */
export async function setUpUsers(ctl: (args: string[]) => Promise<unknown>): Promise<void> {
  await ctl(['add_user', NO_ACCESS.user, NO_ACCESS.password]);
  await ctl(['add_user', LIMITED.user, LIMITED.password]);
  await ctl(['set_permissions', '-p', '/', LIMITED.user, '^own\\.', '^own\\.', '^own\\.']);
}

export const permissionScenarios: Scenario[] = [
  {
    name: 'a user without permissions on the vhost: connection.open refused 530',
    async run(s) {
      await s.connect(NO_ACCESS);
    },
  },
  {
    name: 'configure permission: queue.declare, exchange.declare, queue.delete, exchange.delete, queue.purge of others are 403',
    async run(s) {
      const p = await s.connect(LIMITED);
      let ch = 0;
      const cases: [string, Record<string, unknown>][] = [
        ['queue.declare', { queue: 'own.q' }],
        ['queue.declare', { queue: 'other.q' }],
        ['queue.declare', { queue: '' }],
        ['exchange.declare', { exchange: 'own.x', type: 'fanout' }],
        ['exchange.declare', { exchange: 'other.x', type: 'fanout' }],
        ['queue.purge', { queue: 'own.q' }],
        ['exchange.delete', { exchange: 'other.x' }],
        ['queue.delete', { queue: 'other.q' }],
        ['queue.declare', { queue: 'own.q', passive: true }],
        ['exchange.declare', { exchange: 'amq.direct', passive: true }],
        ['exchange.delete', { exchange: 'own.x' }],
        ['queue.delete', { queue: 'own.q' }],
      ];
      for (const [method, args] of cases) {
        await p.openChannel(++ch);
        await p.call(ch, method, args as never);
      }
    },
    deliberate: {
      reason: '3.10 checks no permission on a passive declare; 4.x requires some permission (read, write or configure) on the resource',
      expected: (t) => t.map((l) => (l === 'c1.ch10 exchange.declare-ok' ? 'c1.ch10 channel.close replyCode=403 replyText=ACCESS_REFUSED classId=40 methodId=10' : l)),
    },
  },
  {
    name: 'write and read permissions: publish, bind, get and consume on resources of others are 403',
    async run(s) {
      const admin = await s.channel();
      await admin.call(1, 'queue.declare', { queue: 'other.shared' });
      await admin.call(1, 'exchange.declare', { exchange: 'other.x', type: 'fanout' });
      const p = await s.connect(LIMITED);
      await p.openChannel(1);
      await p.call(1, 'queue.declare', { queue: 'own.mine', exclusive: true });
      await p.call(1, 'exchange.declare', { exchange: 'own.x', type: 'fanout', autoDelete: true });
      await p.call(1, 'queue.bind', { queue: 'own.mine', exchange: 'own.x' });
      await p.publishConfirmed(1, [{ args: { exchange: 'own.x' }, body: 'ok' }]);
      await p.call(1, 'basic.get', { queue: 'own.mine', noAck: true });
      let ch = 1;
      const refused: [string, Record<string, unknown>][] = [
        ['queue.bind', { queue: 'own.mine', exchange: 'other.x' }],
        ['queue.bind', { queue: 'other.shared', exchange: 'own.x' }],
        ['basic.get', { queue: 'other.shared' }],
        ['basic.consume', { queue: 'other.shared' }],
        ['exchange.bind', { destination: 'own.x', source: 'other.x' }],
      ];
      for (const [method, args] of refused) {
        await p.openChannel(++ch);
        await p.call(ch, method, args as never);
      }
      await p.openChannel(++ch);
      p.publish(ch, { exchange: 'other.x' }, 'refused');
      await p.waitFor((r) => r.channel === ch && r.name === 'channel.close');
      await p.openChannel(++ch);
      p.publish(ch, { routingKey: 'other.shared' }, 'default exchange');
      await p.waitFor((r) => r.channel === ch && r.name === 'channel.close');
      await admin.call(1, 'queue.delete', { queue: 'other.shared' });
      await admin.call(1, 'exchange.delete', { exchange: 'other.x' });
    },
  },
];
