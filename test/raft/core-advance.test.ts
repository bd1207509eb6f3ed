// RaftCore's ready()/advance() contract when messages arrive in between, as they do under
// the facade (it awaits its stores while the transport keeps stepping the core). Found by
// the quorum queue simulation (test/quorum/quorum-sim.test.ts).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { RaftCore } from '../../cluster/raft/raft-core';
import { seededRandom } from '../../cluster/raft/prng';
import { EntryType, encodeConfiguration, type Configuration } from '../../cluster/raft/types';

const config: Configuration = { servers: ['a', 'b', 'c'].map((id) => ({ id, address: id, suffrage: 'voter' as const })) };

function follower(): RaftCore {
  return new RaftCore(
    { id: 'b', electionTimeoutTicks: 10, heartbeatTicks: 1, idleHeartbeatTicks: 0, preVote: true, checkQuorum: true, maxEntriesPerAppend: 4, maxInflightAppends: 4, random: seededRandom(1) },
    { hardState: { term: 1, vote: '', commit: 0 }, entries: [{ index: 1, term: 1, type: EntryType.Config, data: encodeConfiguration(config) }] },
  );
}

test('an InstallSnapshot stepped between ready() and advance() is not marked applied until handed out', () => {
  const core = follower();
  const cmd = (index: number) => ({ index, term: 2, type: EntryType.Command, data: Buffer.from(`c${index}`) });
  core.step({ type: 'append', from: 'a', to: 'b', term: 2, prevIndex: 1, prevTerm: 1, entries: [cmd(2), cmd(3)], commit: 3 });
  const rd = core.ready();
  assert.deepEqual(rd.committedEntries.map((e) => e.index), [1, 2, 3]);
  // While the application persists and applies rd, the leader (which compacted) sends a snapshot.
  const meta = { index: 10, term: 2, configuration: config, configurationIndex: 1 };
  core.step({ type: 'installSnapshot', from: 'a', to: 'b', term: 2, snapshot: { meta, data: Buffer.from('state at 10') } });
  core.advance();
  assert.equal(core.stats().appliedIndex, 3, 'only what the last ready() handed out is applied');
  const next = core.ready();
  assert.equal(next.snapshot?.meta.index, 10);
  core.advance();
  assert.equal(core.stats().appliedIndex, 10);
  assert.doesNotThrow(() => core.snapshotMetaAt(10));
});
