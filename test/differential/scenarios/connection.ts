// connection and channel classes, and frame-level errors.
import { methodFrame, frame, FRAME_HEADER, FRAME_BODY, u16, u64 } from '../../helpers/raw-amqp';
import type { Scenario } from '../session';

export const connectionScenarios: Scenario[] = [
  {
    name: 'connection.update-secret is answered with update-secret-ok',
    async run(s) {
      const p = await s.connect();
      await p.call(0, 'connection.update-secret', { newSecret: 'token', reason: 'refresh' });
      await p.openChannel(1);
    },
  },
  {
    name: 'channel.open twice on one channel: connection.close 504 naming channel.open',
    async run(s) {
      const p = await s.channel();
      await p.call(1, 'channel.open');
    },
  },
  {
    name: 'channel.flow active=true is acknowledged; active=false refused 540',
    async run(s) {
      const p = await s.channel();
      await p.call(1, 'channel.flow', { active: true });
      await p.call(1, 'channel.flow', { active: false });
    },
  },
  {
    name: 'channel.close by the client, then the channel number is reused',
    async run(s) {
      const p = await s.channel();
      await p.call(1, 'channel.close', { replyCode: 200, replyText: 'bye' });
      await p.openChannel(1);
      await p.call(1, 'queue.declare', { queue: s.name('q'), exclusive: true });
    },
  },
  {
    name: 'access.request is answered with a ticket',
    async run(s) {
      const p = await s.channel();
      await p.call(1, 'access.request', { realm: '/data', active: true, read: true });
    },
  },
  {
    name: 'a method on a channel that is not open: 504 naming it',
    async run(s) {
      const p = await s.connect();
      await p.call(3, 'basic.get', { queue: 'x' });
    },
  },
  {
    name: 'a channel method on channel 0: 504 naming it',
    async run(s) {
      const p = await s.connect();
      await p.call(0, 'queue.declare', { queue: s.name('q') });
    },
  },
  {
    name: 'a truncated method: 501 naming it',
    async run(s) {
      const p = await s.channel();
      p.sendRaw(methodFrame(1, 50, 10, Buffer.from([0, 0, 5, 97])), 'truncated queue.declare');
      await p.waitFor((r) => r.name === 'connection.close');
    },
  },
  {
    name: 'a content header of another class after basic.publish: 505 naming basic.publish',
    async run(s) {
      const p = await s.channel();
      p.send(1, 'basic.publish', { routingKey: 'x' });
      p.sendRaw(frame(FRAME_HEADER, 1, Buffer.concat([u16(50), u16(0), u64(0), u16(0)])), 'header class 50');
      await p.waitFor((r) => r.name === 'connection.close');
    },
  },
  {
    name: 'a method where the content header should be: 505 naming basic.publish',
    async run(s) {
      const p = await s.channel();
      p.send(1, 'basic.publish', { routingKey: 'x' });
      await p.call(1, 'basic.qos', { prefetchCount: 1 });
    },
  },
  {
    name: 'a body frame without a publish: 505',
    async run(s) {
      const p = await s.channel();
      p.sendRaw(frame(FRAME_BODY, 1, Buffer.from('x')), 'body');
      await p.waitFor((r) => r.name === 'connection.close');
    },
  },
  {
    name: 'a body longer than announced (RabbitMQ 4.x refuses it with 501)',
    async run(s) {
      const p = await s.channel();
      const q = s.name('q');
      await p.call(1, 'queue.declare', { queue: q, exclusive: true });
      p.send(1, 'basic.publish', { routingKey: q });
      p.sendRaw(frame(FRAME_HEADER, 1, Buffer.concat([u16(60), u16(0), u64(2), u16(0)])), 'header 2 bytes');
      p.sendRaw(frame(FRAME_BODY, 1, Buffer.from('abcd')), 'body 4 bytes');
      await p.call(1, 'queue.declare', { queue: q, passive: true }, 1500);
    },
    deliberate: {
      reason: '3.10 takes the excess bytes as the next frames; 4.x closes with 501 naming basic.publish',
      expected: (t) => t.map((l) => l.replace('replyCode=505 replyText=UNEXPECTED_FRAME classId=60', 'replyCode=501 replyText=FRAME_ERROR classId=60')),
    },
  },
  {
    name: 'connection.open of a missing vhost: 530 naming connection.open',
    async run(s) {
      await s.connect({ vhost: s.name('no-such-vhost') });
    },
  },
  {
    name: 'wrong password: 403 ACCESS_REFUSED (authentication_failure_close)',
    async run(s) {
      await s.connect({ password: 'wrong' });
    },
  },
  {
    name: 'the handshake: protocol version, mechanisms, locales, capabilities, tune proposal, open-ok',
    async run(s) {
      await s.connect({ record: true });
    },
  },
  {
    name: 'tune-ok with a frame_max below 8192: refused by RabbitMQ 4.1+',
    async run(s) {
      const p = await s.connect({ tuneOk: { frameMax: 4096 } });
      if (!p.closed) {
        await p.openChannel(1);
      }
    },
    deliberate: {
      reason: '3.10 accepts any frame_max of at least 4096; 4.1 refuses one below FRAME-MIN-SIZE (8192) with 530 naming connection.tune-ok',
      expected: () => ['c1.ch0 connection.close replyCode=530 replyText=NOT_ALLOWED classId=10 methodId=31'],
    },
  },
  {
    name: 'tune-ok with a frame_max above the proposal, or a channel_max above it: 530',
    async run(s) {
      await s.connect({ tuneOk: { frameMax: 1_000_000 } });
      await s.connect({ tuneOk: { channelMax: 65535 } });
    },
    deliberate: {
      reason: '3.10 closes the socket without a word; later versions answer a failed negotiation (state tuning, not_allowed) with connection.close naming connection.tune-ok',
      expected: (t) => t.map((l) => l.replace('ch0 handshake-ended-without-close', 'ch0 connection.close replyCode=530 replyText=NOT_ALLOWED classId=10 methodId=31')),
    },
  },
  {
    name: 'AMQPLAIN login, and a wrong AMQPLAIN password refused 403',
    async run(s) {
      const p = await s.connect({ mechanism: 'AMQPLAIN' });
      await p.openChannel(1);
      await s.connect({ mechanism: 'AMQPLAIN', password: 'wrong' });
    },
  },
];
