// Message priorities of quorum queues (RabbitMQ 4.0–4.2): the two-level ready list's order,
// and a body kept only on disk keeping its priority through a snapshot and a restart, so a
// new leader rebuilds the levels without reading bodies.
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
import { TwoLevelMessages } from '../../src/broker/queue/two-level-messages';
import type { QueuedMessage } from '../../src/broker/ports';

function message(id: number, priority: number | undefined): Message {
  const m = new Message('', `m${id}`, priority === undefined ? Buffer.from([0, 0]) : encodeProperties({ priority }), Buffer.from(`m${id}`));
  m.storeId = id;
  return m;
}

const entry = (m: Message): QueuedMessage => ({ message: m, redelivered: false, expiresAtMs: Infinity, seq: 0 });

test('two levels: above 4 is high, two high for each normal one, the older head on the normal turn, returns first', () => {
  const ready = new TwoLevelMessages(() => new FifoMessages());
  // Six normal (no priority, 0 and 4 included) published before six high (5 and 9).
  const normal = [undefined, 0, 4, undefined, 1, 2];
  for (let i = 0; i < 6; i++) ready.push(entry(message(i + 1, normal[i])));
  for (let i = 0; i < 6; i++) ready.push(entry(message(i + 7, i % 2 === 0 ? 9 : 5)));
  assert.equal(ready.length, 12);
  const order: string[] = [];
  const taken: QueuedMessage[] = [];
  while (ready.length > 0) {
    assert.equal(ready.peek(), ready.peek());
    const e = ready.shift()!;
    taken.push(e);
    order.push(e.message.routingKey);
  }
  assert.deepEqual(order, ['m7', 'm8', 'm1', 'm9', 'm10', 'm2', 'm11', 'm12', 'm3', 'm4', 'm5', 'm6']);
  // Returned messages come back first, in their original order, whatever their level.
  ready.push(entry(message(13, 9)));
  ready.unshift(taken[5]);
  ready.unshift(taken[0]);
  assert.deepEqual([ready.shift(), ready.shift(), ready.shift()].map((e) => e!.message.routingKey), ['m7', 'm2', 'm13']);
  assert.equal(ready.length, 0);
  assert.equal(ready.bytes, 0);
});

test('a body kept only on disk keeps its priority through a snapshot and a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qq-prio-'));
  try {
    const fsm = new QuorumFsm({ bodies: new BodyStore(dir, 1 << 20), memoryBytes: 0, node: 'a' });
    fsm.apply({ index: 1, term: 1, type: EntryType.Command, data: encodeEnqueue(1, [message(0, 7), message(0, undefined), message(0, 3)]) });
    assert.deepEqual([...fsm.messages.values()].map((m) => [m.message, m.priority]), [[undefined, 7], [undefined, 0], [undefined, 3]]);
    await fsm.prepareSnapshot();
    const snap = fsm.snapshot();
    const again = new QuorumFsm({ bodies: new BodyStore(dir, 1 << 20), memoryBytes: 0, node: 'a' });
    again.startingUp = true;
    await again.restore(snap);
    assert.deepEqual([...again.messages.values()].map((m) => m.priority), [7, 0, 3]);
    assert.equal(again.read(1)?.priority, 7);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
