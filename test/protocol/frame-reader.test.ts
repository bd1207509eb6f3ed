import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteWriter } from '../../src/protocol/byte-writer';
import { FrameReader } from '../../src/protocol/frame-reader';
import { writeBodyFrames, writeHeaderFrame, writeMethodFrame, HEARTBEAT_FRAME } from '../../src/protocol/frame-writer';
import { MethodKey } from '../../src/protocol/methods.generated';

interface Seen {
  type: number;
  channel: number;
  payload: string;
}

function sampleStream(): Buffer {
  const w = new ByteWriter(64);
  writeMethodFrame(w, 1, { key: MethodKey.BasicPublish, args: { ticket: 0, exchange: '', routingKey: 'q', mandatory: false, immediate: false } });
  writeHeaderFrame(w, 1, 60, 20000, { deliveryMode: 2 });
  writeBodyFrames(w, 1, Buffer.alloc(20000, 7), 4096);
  w.bytes(HEARTBEAT_FRAME);
  return w.take();
}

function parse(chunks: Buffer[]): Seen[] {
  const seen: Seen[] = [];
  const reader = new FrameReader((type, channel, buf, start, end) => seen.push({ type, channel, payload: buf.toString('hex', start, end) }), 131072);
  for (const c of chunks) reader.push(c);
  assert.equal(reader.bufferedBytes, 0);
  return seen;
}

test('frames in one chunk and the same frames split at every possible size give the same result', () => {
  const stream = sampleStream();
  const whole = parse([stream]);
  assert.equal(whole.length, 1 + 1 + 5 + 1);
  assert.deepEqual(whole.map((f) => f.type), [1, 2, 3, 3, 3, 3, 3, 8]);
  for (const size of [1, 2, 3, 5, 7, 8, 13, 100, 4095, 4096, 4097, 9999]) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < stream.length; i += size) chunks.push(stream.subarray(i, i + size));
    assert.deepEqual(parse(chunks), whole, `chunk size ${size}`);
  }
});

test('random splits (seeded) parse identically', () => {
  const stream = sampleStream();
  const whole = parse([stream]);
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let round = 0; round < 200; round++) {
    const chunks: Buffer[] = [];
    let i = 0;
    while (i < stream.length) {
      const n = 1 + Math.floor(rand() * 300);
      chunks.push(stream.subarray(i, i + n));
      i += n;
    }
    assert.deepEqual(parse(chunks), whole, `round ${round} seed state ${seed}`);
  }
});

test('a bad frame-end octet is a frame error, whole or split', () => {
  const w = new ByteWriter(64);
  writeMethodFrame(w, 0, { key: MethodKey.ConnectionCloseOk, args: {} });
  const bytes = w.take();
  bytes[bytes.length - 1] = 0;
  assert.throws(() => parse([bytes]), /bad frame end/);
  assert.throws(() => parse([bytes.subarray(0, 5), bytes.subarray(5)]), /bad frame end/);
});

test('a frame larger than frame_max is refused from its header alone', () => {
  const header = Buffer.from([1, 0, 1, 0, 0x10, 0, 0]);
  const reader = new FrameReader(() => assert.fail('no frame expected'), 131072);
  assert.throws(() => reader.push(header), /exceeds frame_max/);
});
