// Every channel.close and connection.close names the class and method that caused it, as RabbitMQ's do
// (clients such as rabbitmq-client and py-amqp fail the pending publish only when the close names
// basic.publish), and connection.update-secret is answered with update-secret-ok.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Connection } from 'rabbitmq-client';
import { uniqueName, withTimeout } from '../helpers/amqp-test';
import { brokerFixture } from '../helpers/broker-fixture';
import { isExternalBroker, isRabbitMqVersion } from '../helpers/broker-process';
import {
  bodyFrame,
  contentHeaderFrame,
  frame,
  FRAME_HEADER,
  longstr,
  methodFrame,
  methods,
  parseClose,
  PROTOCOL_HEADER,
  RawClient,
  shortstr,
  table,
  u16,
  u32,
  u64,
  u8,
  type CloseInfo,
} from '../helpers/raw-amqp';

const { clients, broker } = brokerFixture();

interface Closed extends CloseInfo {
  scope: 'channel' | 'connection';
}

/** Runs send() on a fresh raw connection (handshaken unless told not to) and returns the first close. */
async function closeAfter(send: (raw: RawClient) => Promise<void> | void, handshake = true): Promise<Closed> {
  const raw = await RawClient.connect(broker().port, broker().host);
  try {
    if (handshake) {
      await raw.handshake();
      await raw.openChannel(1);
    }
    await send(raw);
    for (;;) {
      const m = await raw.nextMethod(5000);
      if (!m) throw new Error(`no close: ${raw.closed ? 'socket closed' : 'timeout'}`);
      if (m.classId === 10 && m.methodId === 50) return { scope: 'connection', ...parseClose(m) };
      if (m.classId === 20 && m.methodId === 40) return { scope: 'channel', ...parseClose(m) };
    }
  } finally {
    raw.destroy();
  }
}

const publish = (flags = 0, exchange = '', routingKey = 'q') =>
  methodFrame(1, 60, 40, Buffer.concat([u16(0), shortstr(exchange), shortstr(routingKey), u8(flags)]));

function expectClose(c: Closed, scope: Closed['scope'], code: number, classId: number, methodId: number): void {
  assert.deepEqual([c.scope, c.replyCode, c.classId, c.methodId], [scope, code, classId, methodId], c.replyText);
}

describe('closes carry the class and method that caused them', () => {
  it('basic.publish to a missing exchange: channel.close 404 naming basic.publish (60/40), raised at content completion', async () => {
    const c = await closeAfter((raw) => {
      raw.write(publish(0, uniqueName('missing')));
      raw.write(contentHeaderFrame(1, 2));
      raw.write(bodyFrame(1, Buffer.from('ab')));
    });
    expectClose(c, 'channel', 404, 60, 40);
  });

  it('basic.publish to an internal exchange: 403 with 60/40', async () => {
    const ex = uniqueName('internal');
    const c = await closeAfter(async (raw) => {
      raw.write(methodFrame(1, 40, 10, Buffer.concat([u16(0), shortstr(ex), shortstr('fanout'), u8(8 | 4), u32(0)])));
      await raw.expectMethod(40, 11);
      raw.write(publish(0, ex));
      raw.write(contentHeaderFrame(1, 0));
    });
    expectClose(c, 'channel', 403, 60, 40);
  });

  it('basic.publish immediate=true: connection.close 540 with 60/40', async () => {
    const c = await closeAfter((raw) => {
      raw.write(publish(2));
      raw.write(contentHeaderFrame(1, 0));
    });
    expectClose(c, 'connection', 540, 60, 40);
  });

  it('a content body longer than its header announced: 501 with 60/40', async (t) => {
    if (isRabbitMqVersion('3.10')) return t.skip('RabbitMQ 3.10 ignores the excess; 4.x refuses it');
    const c = await closeAfter((raw) => {
      raw.write(publish());
      raw.write(contentHeaderFrame(1, 3));
      raw.write(bodyFrame(1, Buffer.from('abcdef')));
    });
    expectClose(c, 'connection', 501, 60, 40);
  });

  it('a content header of another class, or a method instead of the header: 505 with 60/40', async () => {
    const wrongClass = await closeAfter((raw) => {
      raw.write(publish());
      raw.write(frame(FRAME_HEADER, 1, Buffer.concat([u16(50), u16(0), u64(0), u16(0)])));
    });
    expectClose(wrongClass, 'connection', 505, 60, 40);
    const method = await closeAfter((raw) => {
      raw.write(publish());
      raw.write(methods.basicGet(1, 'q'));
    });
    expectClose(method, 'connection', 505, 60, 40);
  });

  it('a truncated method: 501 naming the method', async () => {
    expectClose(await closeAfter((raw) => raw.write(methodFrame(1, 50, 10, Buffer.from([0, 0, 5, 97])))), 'connection', 501, 50, 10);
  });

  it('a channel method on channel 0: 504 naming it', async () => {
    const c = await closeAfter((raw) => raw.write(methodFrame(0, 50, 10, Buffer.concat([u16(0), shortstr('q'), u8(0), u32(0)]))));
    expectClose(c, 'connection', 504, 50, 10);
  });

  it('connection.open of a missing vhost: 530 with 10/40', async () => {
    const c = await closeAfter(async (raw) => {
      raw.write(PROTOCOL_HEADER);
      await raw.expectMethod(10, 10);
      raw.write(methodFrame(0, 10, 11, Buffer.concat([table({}), shortstr('PLAIN'), longstr('\0guest\0guest'), shortstr('en_US')])));
      const tune = await raw.expectMethod(10, 30);
      raw.write(methodFrame(0, 10, 31, tune.args));
      raw.write(methodFrame(0, 10, 40, Buffer.concat([shortstr(uniqueName('novhost')), shortstr(''), u8(0)])));
    }, false);
    expectClose(c, 'connection', 530, 10, 40);
  });

  it('an unknown SASL mechanism: 503 with 10/11 (connection.start-ok)', async (t) => {
    if (isExternalBroker()) return t.skip('RabbitMQ closes the socket without connection.close before tune');
    const c = await closeAfter(async (raw) => {
      raw.write(PROTOCOL_HEADER);
      await raw.expectMethod(10, 10);
      raw.write(methodFrame(0, 10, 11, Buffer.concat([table({}), shortstr('NOPE'), longstr('x'), shortstr('en_US')])));
    }, false);
    expectClose(c, 'connection', 503, 10, 11);
  });

  it('rabbitmq-client fails the pending confirmed publish to a missing exchange instead of hanging', async () => {
    const rabbit = new Connection({ url: clients.url(), retryLow: 100, retryHigh: 200 });
    const errors: unknown[] = [];
    rabbit.on('error', (e) => errors.push(e));
    try {
      await rabbit.onConnect(5000);
      const ch = await rabbit.acquire();
      await ch.confirmSelect();
      await assert.rejects(withTimeout(ch.basicPublish({ exchange: uniqueName('missing'), routingKey: 'x' }, 'body'), 5000, 'publish'), /BasicPublish: NOT_FOUND/);
    } finally {
      await rabbit.close();
    }
    assert.deepEqual(errors, [], 'the failure is the publish, not a stray connection error');
  });
});

describe('connection.update-secret', () => {
  it('is answered with update-secret-ok (amqplib) and the connection keeps working', async () => {
    const conn = await clients.connect();
    await withTimeout(conn.updateSecret(Buffer.from('new secret'), 'token refresh'), 5000, 'update-secret-ok');
    const ch = await clients.channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.checkQueue(q);
    await conn.close();
  });
});
