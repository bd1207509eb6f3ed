import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Message } from '../../src/broker/message';
import {
  CANCEL,
  CANCEL_BYTES,
  decodeDeliveryFrame,
  decodeForward,
  decodeOutcomes,
  decodeSettle,
  deliveryBytes,
  DELIVER,
  encodeCredit,
  encodeOutcomes,
  encodeSettle,
  encodeTarget,
  forwardBytes,
  SETTLE_REQUEUE,
  writeCancelAt,
  writeDeliveryAt,
  writeForwardAt,
} from '../../cluster/forward/forward-codec';
import { FrameBatch, forEachFrame } from '../../cluster/forward/frame-batch';

const props = Buffer.from([0x10, 0x00, 0x02]); // delivery-mode 2
const msg = (key: string, body: string) => new Message('amq.direct', key, props, Buffer.from(body));

function forward(seq: number, confirm: boolean, vhost: string, queues: string[], m: Message): Buffer {
  const target = encodeTarget(vhost, queues);
  const out = Buffer.alloc(forwardBytes(target, m));
  writeForwardAt(out, 0, seq, confirm, target, m);
  return out;
}

describe('forwarding frames', () => {
  it('a forward round-trips: seq, confirm, vhost, queues and the message (properties and body byte for byte)', () => {
    const m = msg('rk.1', 'hello');
    const f = decodeForward(forward(7, true, '/', ['q1', 'q2'], m));
    assert.equal(f.seq, 7);
    assert.equal(f.confirm, true);
    assert.equal(f.vhost, '/');
    assert.deepEqual(f.queues, ['q1', 'q2']);
    assert.equal(f.message.exchange, 'amq.direct');
    assert.equal(f.message.routingKey, 'rk.1');
    assert.ok(f.message.persistent);
    assert.deepEqual(f.message.body, Buffer.from('hello'));
    assert.deepEqual(f.message.routingBytes, m.routingBytes);
  });

  it('repeated targets and routing are shared between decoded forwards, and a change is seen', () => {
    const a = decodeForward(forward(1, false, 'v', ['q'], msg('k', 'a')));
    const b = decodeForward(forward(2, false, 'v', ['q'], msg('k', 'b')));
    assert.equal(a.queues, b.queues);
    assert.equal(a.message.routingBytes, b.message.routingBytes);
    const c = decodeForward(forward(3, false, 'w', ['r'], msg('other', 'c')));
    assert.equal(c.vhost, 'w');
    assert.deepEqual(c.queues, ['r']);
    assert.equal(c.message.routingKey, 'other');
    assert.deepEqual(c.message.body, Buffer.from('c'));
  });

  it('a truncated forward is an error, not a wrong message', () => {
    const bytes = forward(1, false, '/', ['q'], msg('k', 'body'));
    assert.throws(() => decodeForward(bytes.subarray(0, bytes.length - 2)));
  });

  it('outcomes, settlements and credit round-trip', () => {
    assert.deepEqual(decodeOutcomes(encodeOutcomes(3, [5, 9, 11], [1, 0, 2])), { plainTaken: 3, seqs: [5, 9, 11], codes: [1, 0, 2] });
    assert.deepEqual(decodeSettle(encodeSettle(SETTLE_REQUEUE, [1, 2, 0xffffffff])), { action: SETTLE_REQUEUE, ids: [1, 2, 0xffffffff], consumerId: 0, credit: 0 });
    const credit = decodeSettle(encodeCredit(42, 1000));
    assert.equal(credit.consumerId, 42);
    assert.equal(credit.credit, 1000);
  });

  it('deliveries and cancels travel in one batch, in order', () => {
    const sent: Buffer[] = [];
    const batch = new FrameBatch((p) => sent.push(Buffer.from(p)));
    for (let i = 0; i < 3; i++) {
      const m = msg('k', `m${i}`);
      const at = batch.reserve(deliveryBytes(m));
      writeDeliveryAt(batch.buffer, at, 11, i + 1, i === 2, i * 2 ** 40, m);
    }
    const cancelAt = batch.reserve(CANCEL_BYTES);
    writeCancelAt(batch.buffer, cancelAt, 11);
    batch.flush();
    assert.equal(sent.length, 1);
    const frames: ReturnType<typeof decodeDeliveryFrame>[] = [];
    forEachFrame(sent[0], (f) => frames.push(decodeDeliveryFrame(f)));
    assert.deepEqual(frames.map((f) => f.kind), [DELIVER, DELIVER, DELIVER, CANCEL]);
    assert.deepEqual(frames.slice(0, 3).map((f) => f.delivery!.message.body.toString()), ['m0', 'm1', 'm2']);
    assert.deepEqual(frames.slice(0, 3).map((f) => f.delivery!.deliveryId), [1, 2, 3]);
    assert.deepEqual(frames.slice(0, 3).map((f) => f.delivery!.logId), [0, 2 ** 40, 2 * 2 ** 40]);
    assert.equal(frames[2].delivery!.redelivered, true);
  });

  it('a batch is sent once it holds 256 KiB, and a message larger than that still goes whole', () => {
    const sent: Buffer[] = [];
    const batch = new FrameBatch((p) => sent.push(Buffer.from(p)));
    const big = new Message('', 'q', props, Buffer.alloc(200 * 1024, 1));
    // reserve() first: it may flush or grow, and so replace `buffer`.
    for (let i = 0; i < 2; i++) {
      const at = batch.reserve(deliveryBytes(big));
      writeDeliveryAt(batch.buffer, at, 1, i, false, 0, big);
    }
    const huge = new Message('', 'q', props, Buffer.alloc(1024 * 1024, 2));
    const at = batch.reserve(deliveryBytes(huge));
    writeDeliveryAt(batch.buffer, at, 1, 9, false, 0, huge);
    batch.flush();
    const sizes: number[] = [];
    for (const p of sent) forEachFrame(p, (f) => sizes.push(decodeDeliveryFrame(f).delivery!.message.body.length));
    assert.deepEqual(sizes, [200 * 1024, 200 * 1024, 1024 * 1024]);
    assert.ok(sent.length >= 2);
  });
});
