// Message priorities of quorum queues (RabbitMQ 4.3): the strict 32-level ready list's
// order, and a body kept only on disk keeping its priority (or its lack of one) through a
// snapshot and a restart, so a new leader rebuilds the levels without reading bodies.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QuorumFsm } from '../../cluster/quorum/quorum-fsm';
import { BodyStore } from '../../cluster/quorum/body-store';
import { encodeEnqueue } from '../../cluster/quorum/quorum-codec';
import { EntryType } from '../../cluster/raft/types';
import { Message } from '../../src/broker/message';
import { encodeProperties } from '../../src/broker/queue/dead-letter';
import { FifoMessages } from '../../src/broker/queue/ready-messages';
import { NO_PRIORITY, StrictPriorityMessages } from '../../src/broker/queue/strict-priority-messages';
import type { QueuedMessage } from '../../src/broker/ports';

function message(id: number, priority: number | undefined): Message {
  const m = new Message('', `m${id}`, priority === undefined ? Buffer.from([0, 0]) : encodeProperties({ priority }), Buffer.from(`m${id}`));
  m.storeId = id;
  return m;
}

const entry = (m: Message): QueuedMessage => ({ message: m, redelivered: false, expiresAtMs: Infinity, seq: 0 });

test('32 strict levels: highest first, 4 without a priority, above 31 as 31, publish order within a level, returns first', () => {
  const ready = new StrictPriorityMessages(() => new FifoMessages());
  // m1..m12 published in this order with these priorities (undefined: no property).
  const priorities = [undefined, 0, 4, undefined, 1, 2, 9, 5, 9, 31, 200, 5];
  priorities.forEach((p, i) => ready.push(entry(message(i + 1, p))));
  assert.equal(ready.length, 12);
  const order: string[] = [];
  const taken: QueuedMessage[] = [];
  while (ready.length > 0) {
    assert.equal(ready.peek(), ready.peek());
    const e = ready.shift()!;
    taken.push(e);
    order.push(e.message.routingKey);
  }
  assert.deepEqual(order, ['m10', 'm11', 'm7', 'm9', 'm8', 'm12', 'm1', 'm3', 'm4', 'm6', 'm5', 'm2']);
  assert.equal(ready.shift(), undefined);
  // Returned messages come back first, in their original order, whatever their level.
  ready.push(entry(message(13, 9)));
  ready.unshift(taken[11]);
  ready.unshift(taken[0]);
  assert.deepEqual([ready.shift(), ready.shift(), ready.shift()].map((e) => e!.message.routingKey), ['m10', 'm2', 'm13']);
  assert.equal(ready.length, 0);
  assert.equal(ready.bytes, 0);
  // clear() hands back every level's messages.
  ready.push(entry(message(14, 3)));
  ready.push(entry(message(15, undefined)));
  assert.deepEqual(ready.clear().map((e) => e.message.routingKey).sort(), ['m14', 'm15']);
  assert.equal(ready.length, 0);
});

test('a body kept only on disk keeps its priority, an explicit 0 apart from none, through a snapshot and a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qq-prio-'));
  try {
    const fsm = new QuorumFsm({ bodies: new BodyStore(dir, 1 << 20), memoryBytes: 0, node: 'a' });
    fsm.apply({ index: 1, term: 1, type: EntryType.Command, data: encodeEnqueue(1, [message(0, 7), message(0, undefined), message(0, 0), message(0, 3)]) });
    assert.deepEqual([...fsm.messages.values()].map((m) => [m.message, m.priority]), [[undefined, 7], [undefined, NO_PRIORITY], [undefined, 0], [undefined, 3]]);
    await fsm.prepareSnapshot();
    const snap = fsm.snapshot();
    const again = new QuorumFsm({ bodies: new BodyStore(dir, 1 << 20), memoryBytes: 0, node: 'a' });
    again.startingUp = true;
    await again.restore(snap);
    assert.deepEqual([...again.messages.values()].map((m) => m.priority), [7, NO_PRIORITY, 0, 3]);
    assert.equal(again.read(1)?.priority, 7);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
