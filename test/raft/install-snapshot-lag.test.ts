// A follower whose log diverged receives an InstallSnapshot, and the leader's next entries
// (with a commit index) while the snapshot is still being saved. Its Raft replaces the log in
// memory at once and may take the commit index from the leader; its stores keep the old,
// divergent log until the save completes. What must hold: nothing is acknowledged before it
// is durable, and afterwards the stores hold the snapshot and the new entries, nothing of
// the old log. termAt() reports the entry its Raft holds (the quorum simulation checks
// "committed means durable on a majority" with it: the stores' stale entry at the commit
// index, of an older term, once made that check fail on seeds 2214 and 1399).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Raft } from '../../cluster/raft/raft';
import { MemoryLogStore } from '../../cluster/raft/memory-log-store';
import { MemoryStableStore } from '../../cluster/raft/memory-stable-store';
import { MemorySnapshotStore } from '../../cluster/raft/memory-snapshot-store';
import type { AppendResponse } from '../../cluster/raft/messages';
import { CapturingTransport, ListFsm, cmd, noTicks, range, settle, threeServers } from './one-server-support';
import { EntryType, encodeConfiguration, type LogEntry, type Snapshot } from '../../cluster/raft/types';

/** A snapshot store whose saves complete only when the test says so (a slow disk). */
class HeldSnapshotStore extends MemorySnapshotStore {
  private held: (() => void)[] = [];
  override save(snapshot: Snapshot): Promise<void> {
    return new Promise<void>((resolve) => this.held.push(() => void super.save(snapshot).then(resolve)));
  }
  get pending(): number {
    return this.held.length;
  }
  release(): void {
    for (const f of this.held.splice(0)) f();
  }
}

const config = threeServers;

for (const orderedStores of [true, false]) {
  test(`install snapshot over a divergent log, the next append arriving during the save (orderedStores ${orderedStores})`, async () => {
    const log = new MemoryLogStore();
    const stable = new MemoryStableStore();
    const snaps = new HeldSnapshotStore();
    // n3 was leader in term 2 and appended 2..13 alone; 2..6 were committed.
    await log.storeEntries([{ index: 1, term: 1, type: EntryType.Config, data: encodeConfiguration(config) }, ...range(2, 13, 2)]);
    await stable.save({ term: 2, vote: 'n3', commit: 6 });
    const fsm = new ListFsm();
    const net = new CapturingTransport();
    const raft = new Raft<void>(
      { localId: 'n3', electionTimeoutTicks: 10, ticker: noTicks, seed: 1, operationTimeoutMs: 1e9, orderedStores, snapshotThresholdEntries: 1000 },
      fsm, log, stable, snaps, net,
    );
    try {
      await raft.ready();
      await settle();
      assert.equal(raft.stats().commitIndex, 6);
      const responses = (): AppendResponse[] => net.sent.filter((m): m is AppendResponse => m.type === 'appendResponse');

      // Leader n1 of term 4, whose log has 7@2 then 8..12@3 (committed up to 11), sends its snapshot at 8@3.
      const snapData = Buffer.from(JSON.stringify([...range(2, 7, 2), cmd(8, 3)].map((e) => e.data.toString())));
      const snapshot: Snapshot = { meta: { index: 8, term: 3, configuration: config, configurationIndex: 1 }, data: snapData };
      net.handler!({ type: 'installSnapshot', from: 'n1', to: 'n3', term: 4, snapshot });
      await settle();
      assert.equal(snaps.pending, 1, 'the snapshot save is under way');
      net.handler!({ type: 'append', from: 'n1', to: 'n3', term: 4, prevIndex: 8, prevTerm: 3, entries: range(9, 12, 3), commit: 11 });
      await settle();

      // Raft's view: the snapshot's log, the new entries, the leader's commit index.
      assert.equal(raft.stats().commitIndex, 11);
      assert.equal(raft.termAt(8), 3);
      assert.equal(raft.termAt(11), 3);
      // The stores still hold the old log (entry 11 of term 2): they lag while the save runs.
      assert.deepEqual((await log.getRange(11, 11)).map((e) => e.term), [2]);
      // Nothing is acknowledged before the snapshot is durable.
      assert.deepEqual(responses(), []);

      snaps.release();
      await settle();
      snaps.release();
      await settle();
      assert.deepEqual((await snaps.latest())?.meta.index, 8);
      const stored = await log.getRange(0, 100);
      assert.deepEqual(stored.map((e) => `${e.index}@${e.term}`), ['9@3', '10@3', '11@3', '12@3'], 'the old log is gone, the new entries stored');
      assert.deepEqual(responses().map((m) => [m.reject, m.index]), [[false, 8], [false, 12]]);
      assert.equal((await stable.load()).commit, 11);
      assert.equal(raft.stats().appliedIndex, 11);
      // The snapshot's state (2..7 of term 2, 8 of term 3), then 9..11: nothing of the old log past 7.
      assert.deepEqual(fsm.applied, [...range(2, 7, 2), ...range(8, 11, 3)].map((e) => e.data.toString()));
    } finally {
      await raft.shutdown();
    }
  });
}
