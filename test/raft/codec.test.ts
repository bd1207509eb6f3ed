import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { decodeMessage, encodeMessage, MessageDecodeError } from '../../cluster/raft/message-codec';
import type { RaftMessage } from '../../cluster/raft/messages';
import { EntryType } from '../../cluster/raft/types';

const samples: RaftMessage[] = [
  {
    type: 'append', from: 'warren@a', to: 'warren@b', term: 2 ** 40, prevIndex: 7, prevTerm: 3, commit: 6,
    entries: [
      { index: 8, term: 3, type: EntryType.Command, data: Buffer.from([0, 1, 2, 255]) },
      { index: 9, term: 3, type: EntryType.Noop, data: Buffer.alloc(0) },
    ],
  },
  { type: 'appendResponse', from: 'b', to: 'a', term: 3, reject: true, index: 9, hintIndex: 4 },
  { type: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 5, readSeq: 12, idle: false },
  { type: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 5, readSeq: 13, idle: true },
  { type: 'heartbeatResponse', from: 'b', to: 'a', term: 3, readSeq: 12 },
  { type: 'vote', from: 'c', to: 'a', term: 4, preVote: true, lastIndex: 9, lastTerm: 3, transfer: false },
  { type: 'voteResponse', from: 'a', to: 'c', term: 4, preVote: true, reject: false },
  {
    type: 'installSnapshot', from: 'a', to: 'b', term: 3,
    snapshot: {
      meta: { index: 100, term: 3, configurationIndex: 50, configuration: { servers: [{ id: 'a', address: 'h:1', suffrage: 'voter' }, { id: 'ü', address: '', suffrage: 'nonvoter' }] } },
      data: Buffer.from('state'),
    },
  },
  { type: 'timeoutNow', from: 'a', to: 'b', term: 3 },
];

test('codec: every message type round-trips', () => {
  for (const m of samples) assert.deepEqual(decodeMessage(encodeMessage(m)), m);
});

test('codec: truncated or foreign input is rejected, never misread', () => {
  for (const m of samples) {
    const bytes = encodeMessage(m);
    for (const cut of [1, 5, bytes.length - 1]) {
      assert.throws(() => decodeMessage(bytes.subarray(0, cut)), MessageDecodeError);
    }
    assert.throws(() => decodeMessage(Buffer.concat([bytes, Buffer.from([0])])), MessageDecodeError);
  }
  assert.throws(() => decodeMessage(Buffer.from([9, 0])), /unsupported version/);
});
