// The consumer timeout sweep (src/amqp/consumer-timeout.ts) on a stand-in channel: a delivery
// times out at most one sweep late and never early, and a channel without unacked deliveries
// keeps no marks however long it delivers (no-ack consumers).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DeliveryClock, sweepChannel, type TimedChannel } from '../../src/amqp/consumer-timeout';
import type { QueueHandle } from '../../src/broker/ports';

const queue = { name: 'q', def: { arguments: {} } } as unknown as QueueHandle;

function channel(): TimedChannel & { state: string; unacked: number[]; tag: number; closedWith: string | undefined } {
  return {
    id: 7,
    state: 'open',
    tag: 0,
    unacked: [],
    closedWith: undefined,
    deliveryClock: undefined,
    get lastDeliveryTag() {
      return this.tag;
    },
    cancelNotify: false,
    unackedInOrder() {
      return this.unacked.map((deliveryTag) => ({ deliveryTag, queue, consumer: undefined }));
    },
    oldestUnacked() {
      const [deliveryTag] = this.unacked;
      return deliveryTag === undefined ? undefined : { deliveryTag, queue, consumer: undefined };
    },
    activeConsumers: () => [],
    hasConsumer: () => false,
    cancelTimedOutConsumer() {
      throw new Error('a classic queue delivery never cancels its consumer');
    },
    reclaimTimedOut() {
      throw new Error('a classic queue delivery is never reclaimed');
    },
    closeWithError(err) {
      this.closedWith = err.replyText;
      this.state = 'closing';
    },
  };
}

test('an unacked delivery times out one sweep late at most, never early', () => {
  const ch = channel();
  const sweep = 250;
  assert.equal(sweepChannel(ch, undefined, 1000, 0), undefined);
  // Delivered at 1, just after the sweep at 0: first marked at 250, timed out at 1250.
  ch.tag = 1;
  ch.unacked.push(1);
  for (let now = sweep; now < 1250; now += sweep) assert.equal(sweepChannel(ch, undefined, 1000, now), undefined, `not yet at ${now}`);
  assert.equal(sweepChannel(ch, undefined, 1000, 1250)?.timeoutMs, 1000);
  assert.equal(ch.closedWith, 'PRECONDITION_FAILED - delivery acknowledgement on channel 7 timed out. Timeout value used: 1000 ms. This timeout value can be configured, see consumers doc guide to learn more');
});

test('acked deliveries move the clock on; no marks are kept without unacked deliveries', () => {
  const ch = channel();
  let now = 0;
  for (let i = 0; i < 10_000; i++, now += 100) {
    ch.tag++;
    sweepChannel(ch, undefined, 1000, now);
  }
  assert.equal(ch.deliveryClock, undefined, 'no-ack deliveries leave no marks');
  // A steady consumer: each delivery acked 500 ms later, the oldest always younger than the timeout.
  const pending: [number, number][] = [];
  for (let i = 0; i < 10_000; i++, now += 100) {
    ch.tag++;
    ch.unacked.push(ch.tag);
    pending.push([ch.tag, now]);
    while (pending.length > 0 && now - pending[0][1] >= 500) {
      pending.shift();
      ch.unacked.shift();
    }
    assert.equal(sweepChannel(ch, undefined, 1000, now), undefined);
  }
  const clock = ch.deliveryClock as unknown as { tags: number[]; head: number };
  assert.ok(clock.tags.length - clock.head <= 12, `marks kept: ${clock.tags.length - clock.head}`);
  assert.ok(clock.tags.length <= 200, `array length ${clock.tags.length}`);
  assert.ok(new DeliveryClock().deliveredBy(1) === undefined);
});
