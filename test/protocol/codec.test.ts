import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ByteReader } from '../../src/protocol/byte-reader';
import { ByteWriter } from '../../src/protocol/byte-writer';
import { decodeTable, Decimal, fieldType, FIELD_TYPES, type FieldTable } from '../../src/protocol/field-table';
import { decodeMethodArgs, encodeMethod, MethodKey, encodeBasicProperties, type AmqpMethod } from '../../src/protocol/methods.generated';
import { decodeRawProperties, peekDeliveryMode } from '../../src/protocol/properties';

const root = resolve(__dirname, '../../..');

test('methods.generated.ts is what the generator makes from the spec', () => {
  const out = execFileSync(process.execPath, [resolve(root, 'scripts/generate-codec.mjs'), '--check'], { encoding: 'utf8' });
  assert.match(out, /current/);
});

function roundTrip(m: AmqpMethod): AmqpMethod {
  const w = new ByteWriter(16);
  encodeMethod(w, m);
  const bytes = w.take();
  const key = bytes.readUInt32BE(0);
  const decoded = decodeMethodArgs(key, new ByteReader(bytes, 4, bytes.length));
  assert.ok(decoded);
  return decoded;
}

test('basic.publish encodes to the bytes of the spec and decodes back', () => {
  const m: AmqpMethod = { key: MethodKey.BasicPublish, args: { ticket: 0, exchange: 'ex', routingKey: 'rk', mandatory: true, immediate: false } };
  const w = new ByteWriter(16);
  encodeMethod(w, m);
  // class 60, method 40, ticket 0, shortstr "ex", shortstr "rk", bits 0b01
  assert.deepEqual([...w.take()], [0, 60, 0, 40, 0, 0, 2, 0x65, 0x78, 2, 0x72, 0x6b, 1]);
  assert.deepEqual(roundTrip(m), m);
});

test('packed bits: queue.declare flags map to the right bit positions', () => {
  const m: AmqpMethod = {
    key: MethodKey.QueueDeclare,
    args: { ticket: 0, queue: 'q', passive: false, durable: true, exclusive: false, autoDelete: true, nowait: true, arguments: {} },
  };
  const w = new ByteWriter(16);
  encodeMethod(w, m);
  const bytes = w.take();
  // after class/method (4), ticket (2), shortstr q (2): one octet of bits, then the table length
  assert.equal(bytes[8], 0b11010);
  assert.deepEqual(roundTrip(m).args, m.args);
});

test('field tables keep every RabbitMQ type through a round trip', () => {
  const w = new ByteWriter(16);
  // Hand-encode one entry of each type so the wire tags are exactly what a client would send.
  const entries: [string, string, Buffer][] = [
    ['t', 't', Buffer.from([1])],
    ['b', 'b', Buffer.from([0xff])],
    ['B', 'B', Buffer.from([0xff])],
    ['s', 's', Buffer.from([0xff, 0xfe])],
    ['u', 'u', Buffer.from([0xff, 0xfe])],
    ['I', 'I', Buffer.from([0xff, 0xff, 0xff, 0xfe])],
    ['i', 'i', Buffer.from([0xff, 0xff, 0xff, 0xfe])],
    ['l', 'l', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe])],
    ['L', 'L', Buffer.from([0, 0, 0, 0, 0, 0, 0, 7])],
    ['f', 'f', (() => { const b = Buffer.alloc(4); b.writeFloatBE(1.5); return b; })()],
    ['d', 'd', (() => { const b = Buffer.alloc(8); b.writeDoubleBE(2.25); return b; })()],
    ['D', 'D', Buffer.from([2, 0, 0, 0x01, 0x2c])],
    ['S', 'S', Buffer.from([0, 0, 0, 2, 0x68, 0x69])],
    ['x', 'x', Buffer.from([0, 0, 0, 2, 1, 2])],
    ['T', 'T', Buffer.from([0, 0, 0, 0, 0x65, 0x00, 0x00, 0x00])],
    ['V', 'V', Buffer.alloc(0)],
    ['A', 'A', Buffer.from([0, 0, 0, 7, 0x49, 0, 0, 0, 5, 0x74, 0])],
    ['F', 'F', Buffer.from([0, 0, 0, 4, 1, 0x6b, 0x74, 1])],
  ];
  for (const [key, tag, value] of entries) {
    w.u8(key.length);
    w.bytes(Buffer.from(key));
    w.u8(tag.charCodeAt(0));
    w.bytes(value);
  }
  const wire = w.take();
  const table = decodeTable(wire, 0, wire.length);
  assert.equal(table.t, true);
  assert.equal(table.b, -1);
  assert.equal(table.B, 255);
  assert.equal(table.s, -2);
  assert.equal(table.u, 65534);
  assert.equal(table.I, -2);
  assert.equal(table.i, 4294967294);
  assert.equal(table.l, -2);
  assert.equal(table.L, 7);
  assert.equal(table.f, 1.5);
  assert.equal(table.d, 2.25);
  assert.deepEqual(table.D, new Decimal(2, 300));
  assert.equal(table.S, 'hi');
  assert.deepEqual(table.x, Buffer.from([1, 2]));
  assert.deepEqual(table.T, new Date(0x65000000 * 1000));
  assert.equal(table.V, null);
  assert.deepEqual([...(table.A as unknown[])], [5, false]);
  assert.equal((table.F as FieldTable).k, true);
  assert.equal(fieldType(table, 's'), 's');
  assert.equal(table[FIELD_TYPES]?.l, 'l');

  const again = new ByteWriter(16);
  again.table(table);
  const reencoded = again.take();
  assert.deepEqual(reencoded.subarray(4), wire, 'a decoded table re-encodes to the same bytes');
});

test('values made in code get sensible wire types', () => {
  const w = new ByteWriter(16);
  w.table({ small: 5, big: 2 ** 40, frac: 0.5, s: 'x', yes: true, nested: { a: [1, 'b'] } });
  const bytes = w.take();
  const t = decodeTable(bytes, 4, bytes.length);
  assert.equal(fieldType(t, 'small'), 'I');
  assert.equal(fieldType(t, 'big'), 'l');
  assert.equal(fieldType(t, 'frac'), 'd');
  assert.equal(fieldType(t, 's'), 'S');
  assert.deepEqual(t.nested, { a: [1, 'b'] });
});

test('truncated input raises a syntax error, not a crash', () => {
  const payload = Buffer.from([0, 60, 0, 40, 0, 0, 5, 0x65]);
  assert.throws(() => decodeMethodArgs(payload.readUInt32BE(0), new ByteReader(payload, 4, payload.length)), /truncated/);
  assert.throws(() => decodeTable(Buffer.from([3, 0x61, 0x62, 0x63, 0x53, 0, 0, 0, 9]), 0, 9), /truncated/);
  assert.throws(() => decodeTable(Buffer.from([1, 0x61, 0x3f]), 0, 3), /unknown field type/);
});

test('basic properties: every property round-trips; delivery-mode is found without decoding headers', () => {
  const props = {
    contentType: 'text/plain',
    contentEncoding: 'gzip',
    headers: { h: 'v', n: 1 },
    deliveryMode: 2,
    priority: 7,
    correlationId: 'c',
    replyTo: 'r',
    expiration: '1000',
    messageId: 'm',
    timestamp: 1700000000,
    type: 't',
    userId: 'guest',
    appId: 'a',
    clusterId: 'cl',
  };
  const w = new ByteWriter(16);
  encodeBasicProperties(w, props);
  const raw = w.take();
  assert.equal(peekDeliveryMode(raw), 2);
  assert.deepEqual({ ...decodeRawProperties(raw), headers: { ...decodeRawProperties(raw).headers } }, props);
});
