// Separate stores (orderedStores false, as the metadata store's log and hard-state files):
// the facade writes a Ready's entries and its hard state at once, each to its own file, so a
// crash can keep the hard state, whose commit index covers entries the log lost. The server
// must start again from what its log kept (committed all the same) and learn the rest from
// the leader, not refuse to start ("commit beyond last index": quorum sim seeds 1619 and 3953, then 3647).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Raft } from '../../cluster/raft/raft';
import { MemoryLogStore } from '../../cluster/raft/memory-log-store';
import { MemoryStableStore } from '../../cluster/raft/memory-stable-store';
import { MemorySnapshotStore } from '../../cluster/raft/memory-snapshot-store';
import type { AppendResponse } from '../../cluster/raft/messages';
import { CapturingTransport, ListFsm, noTicks, range, settle, threeServers } from './one-server-support';
import { EntryType, encodeConfiguration, type LogEntry } from '../../cluster/raft/types';

const config = threeServers;
const names = (es: LogEntry[]): string[] => es.map((e) => e.data.toString());

for (const withSnapshot of [false, true]) {
  test(`separate stores: a hard state committing entries the log lost at a crash${withSnapshot ? ' (log empty after an installed snapshot)' : ''}`, async () => {
    const log = new MemoryLogStore();
    const stable = new MemoryStableStore();
    const snaps = new MemorySnapshotStore();
    const boot: LogEntry = { index: 1, term: 1, type: EntryType.Config, data: encodeConfiguration(config) };
    // Kept: the log up to 5 (or a snapshot at 5 and no log); lost: 6..8, which the hard state commits.
    if (withSnapshot) {
      await snaps.save({ meta: { index: 5, term: 2, configuration: config, configurationIndex: 1 }, data: Buffer.from(JSON.stringify(names(range(2, 5, 2)))) });
    } else {
      await log.storeEntries([boot, ...range(2, 5, 2)]);
    }
    await stable.save({ term: 2, vote: 'n1', commit: 8 });
    const fsm = new ListFsm();
    const net = new CapturingTransport();
    const raft = new Raft<void>(
      { localId: 'n3', electionTimeoutTicks: 10, ticker: noTicks, seed: 1, operationTimeoutMs: 1e9, orderedStores: false },
      fsm, log, stable, snaps, net,
    );
    try {
      await raft.ready();
      await settle();
      assert.equal(raft.stats().commitIndex, 5, 'what the log kept');
      assert.deepEqual(fsm.applied, names(range(2, 5, 2)));
      // The leader sends the rest again.
      net.handler!({ type: 'append', from: 'n1', to: 'n3', term: 2, prevIndex: 5, prevTerm: 2, entries: range(6, 9, 2), commit: 8 });
      await settle();
      assert.equal(raft.stats().commitIndex, 8);
      assert.deepEqual(fsm.applied, names(range(2, 8, 2)));
      const acks = net.sent.filter((m): m is AppendResponse => m.type === 'appendResponse');
      assert.deepEqual(acks.map((m) => [m.reject, m.index]), [[false, 9]]);
      assert.equal((await stable.load()).commit, 8);
    } finally {
      await raft.shutdown();
    }
  });
}
