// Message content integrity: all 14 basic properties, field-table value types byte for byte, large bodies
// split across frames, and ordering of many messages.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type * as amqp from 'amqplib';
import { collector, uniqueName, waitFor } from '../helpers/amqp-test';
import { brokerFixture } from '../helpers/broker-fixture';
import {
  bodyFrame,
  FRAME_BODY,
  FRAME_HEADER,
  frame,
  longstr,
  methods,
  RawClient,
  shortstr,
  u16,
  u32,
  u64,
  u8,
} from '../helpers/raw-amqp';

let conn: amqp.ChannelModel;
const { clients, broker } = brokerFixture(async (c) => {
  conn = await c.connect();
});

describe('message properties', () => {
  it('round-trips the basic properties and typed headers through a queue (amqplib; cluster-id is in the raw test)', async () => {
    const ch = await clients.channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    const timestamp = 1_700_000_000;
    const headers = {
      str: 'text ✓',
      int: 42,
      negative: -70000,
      big: 2 ** 40,
      float: 3.25,
      yes: true,
      no: false,
      nothing: null,
      bytes: Buffer.from([0, 1, 2, 255]),
      list: [1, 'two', true, [3], { four: 4 }],
      nested: { a: { b: { c: 'deep' } }, n: 1 },
      when: { '!': 'timestamp', value: timestamp },
      dec: { '!': 'decimal', value: { places: 2, digits: 12345 } },
    };
    const props: amqp.Options.Publish = {
      contentType: 'application/json',
      contentEncoding: 'gzip',
      headers,
      deliveryMode: 2,
      priority: 7,
      correlationId: 'corr-1',
      replyTo: 'reply-queue',
      expiration: '600000',
      messageId: 'msg-1',
      timestamp,
      type: 'order.created',
      userId: 'guest',
      appId: 'warren-tests',
    };
    ch.sendToQueue(q, Buffer.from('{}'), props);
    const m = await waitFor(() => ch.get(q, { noAck: true }), 3000, 'message');
    const p = m.properties;
    assert.equal(p.contentType, 'application/json');
    assert.equal(p.contentEncoding, 'gzip');
    assert.equal(p.deliveryMode, 2);
    assert.equal(p.priority, 7);
    assert.equal(p.correlationId, 'corr-1');
    assert.equal(p.replyTo, 'reply-queue');
    assert.equal(p.expiration, '600000');
    assert.equal(p.messageId, 'msg-1');
    assert.equal(p.timestamp, timestamp);
    assert.equal(p.type, 'order.created');
    assert.equal(p.userId, 'guest');
    assert.equal(p.appId, 'warren-tests');
    const h = p.headers as Record<string, unknown>;
    assert.equal(h.str, 'text ✓');
    assert.equal(h.int, 42);
    assert.equal(h.negative, -70000);
    assert.equal(h.big, 2 ** 40);
    assert.equal(h.float, 3.25);
    assert.equal(h.yes, true);
    assert.equal(h.no, false);
    assert.equal(h.nothing, null);
    assert.deepEqual(Buffer.from(h.bytes as Buffer), Buffer.from([0, 1, 2, 255]));
    assert.deepEqual(h.list, [1, 'two', true, [3], { four: 4 }]);
    assert.deepEqual(h.nested, { a: { b: { c: 'deep' } }, n: 1 });
    assert.deepEqual(h.when, { '!': 'timestamp', value: timestamp });
    assert.deepEqual(h.dec, { '!': 'decimal', value: { places: 2, digits: 12345 } });
    await ch.close();
  });

  it('refuses a user-id that is not the authenticated user with 406', async () => {
    const ch = await clients.channel(conn);
    const errors: Array<Error & { code?: number }> = [];
    ch.on('error', (e: Error) => errors.push(e));
    const closed = new Promise((ok) => ch.once('close', ok));
    ch.sendToQueue(uniqueName('q'), Buffer.from('x'), { userId: 'somebody-else' });
    await closed;
    assert.equal(errors[0]?.code, 406);
  });

  it('keeps all 14 properties and every field-table value type byte for byte (raw publish, raw get)', async () => {
    // headers table with every tag RabbitMQ uses: t b B s u I i l f d D S A T F V x
    const entry = (key: string, tag: string, value: Buffer) => Buffer.concat([shortstr(key), Buffer.from(tag), value]);
    const i16 = Buffer.alloc(2);
    i16.writeInt16BE(-2);
    const i32 = Buffer.alloc(4);
    i32.writeInt32BE(-3);
    const i64 = Buffer.alloc(8);
    i64.writeBigInt64BE(-4n);
    const f32 = Buffer.alloc(4);
    f32.writeFloatBE(1.5);
    const f64 = Buffer.alloc(8);
    f64.writeDoubleBE(-2.75);
    const arrayItems = Buffer.concat([Buffer.from('I'), u32(7), Buffer.from('S'), longstr('x'), Buffer.from('t'), u8(1)]);
    const innerTable = entry('k', 'S', longstr('v'));
    const entries = Buffer.concat([
      entry('t', 't', u8(1)),
      entry('b', 'b', Buffer.from([0xfe])),
      entry('B', 'B', u8(200)),
      entry('s', 's', i16),
      entry('u', 'u', u16(65000)),
      entry('I', 'I', i32),
      entry('i', 'i', u32(4_000_000_000)),
      entry('l', 'l', i64),
      entry('f', 'f', f32),
      entry('d', 'd', f64),
      entry('D', 'D', Buffer.concat([u8(3), u32(123456)])),
      entry('S', 'S', longstr('long string')),
      entry('A', 'A', Buffer.concat([u32(arrayItems.length), arrayItems])),
      entry('T', 'T', u64(1_700_000_000)),
      entry('F', 'F', Buffer.concat([u32(innerTable.length), innerTable])),
      entry('V', 'V', Buffer.alloc(0)),
      entry('x', 'x', Buffer.concat([u32(3), Buffer.from([9, 8, 7])])),
    ]);
    const headersTable = Buffer.concat([u32(entries.length), entries]);
    // All 14 properties present: flag bits 15..2, in spec order.
    const propertyBytes = Buffer.concat([
      u16(0xfffc),
      shortstr('text/plain'), // content-type
      shortstr('identity'), // content-encoding
      headersTable, // headers
      u8(1), // delivery-mode
      u8(3), // priority
      shortstr('corr'), // correlation-id
      shortstr('reply'), // reply-to
      shortstr('60000'), // expiration
      shortstr('raw-1'), // message-id
      u64(1_700_000_001), // timestamp
      shortstr('kind'), // type
      shortstr('guest'), // user-id
      shortstr('app'), // app-id
      shortstr('cluster-a'), // cluster-id
    ]);
    const body = Buffer.from('raw body');

    const raw = await RawClient.connect(broker().port, broker().host);
    try {
      await raw.handshake();
      await raw.openChannel(1);
      const q = uniqueName('q-raw-table');
      raw.write(methods.queueDeclare(1, q, { exclusive: true, autoDelete: false }));
      await raw.expectMethod(50, 11);
      raw.write(methods.basicPublish(1, '', q));
      raw.write(frame(FRAME_HEADER, 1, Buffer.concat([u16(60), u16(0), u64(body.length), propertyBytes])));
      raw.write(bodyFrame(1, body));
      let got: Buffer | undefined;
      for (let attempt = 0; attempt < 50 && !got; attempt++) {
        raw.write(methods.basicGet(1, q));
        const reply = await raw.nextMethod();
        assert.ok(reply, 'expected get-ok or get-empty');
        if (reply.classId === 60 && reply.methodId === 71) {
          const header = await raw.nextFrame();
          assert.equal(header?.type, FRAME_HEADER);
          assert.equal(header!.payload.readBigUInt64BE(4), BigInt(body.length));
          got = header!.payload.subarray(12);
          const bodyF = await raw.nextFrame();
          assert.equal(bodyF?.type, FRAME_BODY);
          assert.ok(bodyF!.payload.equals(body));
        } else {
          assert.equal(`${reply.classId}/${reply.methodId}`, '60/72', 'expected basic.get-empty');
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      assert.ok(got, 'the message never arrived');
      assert.equal(got.toString('hex'), propertyBytes.toString('hex'));
    } finally {
      raw.destroy();
    }
  });
});

describe('large and many messages', () => {
  for (const size of [1024 * 1024, 5 * 1024 * 1024]) {
    it(`delivers a ${size / 1024 / 1024} MiB body intact across frames`, async () => {
      const ch = await clients.channel(conn);
      const q = (await ch.assertQueue('', { exclusive: true })).queue;
      const body = Buffer.alloc(size);
      for (let i = 0; i < size; i += 4) body.writeUInt32BE((i * 2654435761) >>> 0, i);
      const digest = createHash('sha256').update(body).digest('hex');
      ch.sendToQueue(q, body);
      const c = collector();
      await ch.consume(q, c.onMessage, { noAck: true });
      await c.waitCount(1, 20_000);
      const got = c.messages[0]!.content;
      assert.equal(got.length, size);
      assert.equal(createHash('sha256').update(got).digest('hex'), digest);
      await ch.close();
    });
  }

  it('delivers an empty body', async () => {
    const ch = await clients.channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    ch.sendToQueue(q, Buffer.alloc(0), { messageId: 'empty' });
    const m = await waitFor(() => ch.get(q, { noAck: true }), 3000, 'message');
    assert.equal(m.content.length, 0);
    assert.equal(m.properties.messageId, 'empty');
    await ch.close();
  });

  it('delivers 5000 messages to a consumer in publish order', async () => {
    const ch = await clients.channel(conn);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    const n = 5000;
    for (let i = 0; i < n; i++) ch.sendToQueue(q, Buffer.from(String(i)));
    const c = collector();
    await ch.consume(q, c.onMessage, { noAck: true });
    await c.waitCount(n, 30_000);
    const bodies = c.messages.map((m) => Number(m.content.toString()));
    assert.deepEqual(bodies, Array.from({ length: n }, (_, i) => i));
    await ch.close();
  });

  it('keeps per-publisher order when two publishers share a queue', async () => {
    const q = (await (await clients.channel(conn)).assertQueue('', { exclusive: true })).queue;
    const p1 = await clients.channel(conn);
    const p2 = await clients.channel(conn);
    for (let i = 0; i < 500; i++) {
      p1.sendToQueue(q, Buffer.from(`a${i}`));
      p2.sendToQueue(q, Buffer.from(`b${i}`));
    }
    const consumerCh = await clients.channel(conn);
    const c = collector();
    await consumerCh.consume(q, c.onMessage, { noAck: true });
    await c.waitCount(1000, 20_000);
    const seq = (prefix: string) =>
      c.messages.map((m) => m.content.toString()).filter((s) => s.startsWith(prefix)).map((s) => Number(s.slice(1)));
    assert.deepEqual(seq('a'), Array.from({ length: 500 }, (_, i) => i));
    assert.deepEqual(seq('b'), Array.from({ length: 500 }, (_, i) => i));
  });
});
