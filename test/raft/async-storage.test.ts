// RaftCore with asyncStorage (what the facade does over ordered stores such as the shared
// WAL): the leader replicates before its own write is durable, and counts its log towards a
// commit only once persisted() reports it. A commit therefore always stands on a majority of
// durable copies: the leader's and one follower's, or two followers' without the leader's.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { RaftCore } from '../../cluster/raft/raft-core';
import { seededRandom } from '../../cluster/raft/prng';
import { EntryType, encodeConfiguration, type LogEntry } from '../../cluster/raft/types';
import type { RaftMessage } from '../../cluster/raft/messages';

const IDS = ['n1', 'n2', 'n3'];

function cluster(): Map<string, RaftCore> {
  const config = { servers: IDS.map((id) => ({ id, address: id, suffrage: 'voter' as const })) };
  const boot: LogEntry = { index: 1, term: 1, type: EntryType.Config, data: encodeConfiguration(config) };
  const cores = new Map<string, RaftCore>();
  for (const id of IDS) {
    cores.set(
      id,
      new RaftCore(
        { id, electionTimeoutTicks: 10, heartbeatTicks: 1, preVote: false, checkQuorum: false, maxEntriesPerAppend: 64, maxInflightAppends: 8, random: seededRandom(7), idleHeartbeatTicks: 0, asyncStorage: true },
        { hardState: { term: 1, vote: '', commit: 0 }, entries: [boot] },
      ),
    );
  }
  return cores;
}

/**
 * Takes every node's Ready: its entries are written (persisted() at once) only on the nodes
 * in `durable`; replies that promise stored entries are held back where nothing was
 * written. Returns the messages that went out, not yet delivered.
 */
function drain(cores: Map<string, RaftCore>, durable: Set<string>): RaftMessage[] {
  const out: RaftMessage[] = [];
  for (const [id, c] of cores) {
    while (c.hasReady()) {
      const rd = c.ready();
      const written = durable.has(id);
      if (written && rd.entries.length > 0) {
        const last = rd.entries[rd.entries.length - 1];
        c.persisted(last.index, last.term);
      }
      for (const m of rd.messages) if (written || (m.type !== 'appendResponse' && m.type !== 'voteResponse')) out.push(m);
      c.advance();
    }
  }
  return out;
}

/** Delivers messages (and what they cause) until quiet; only `links` ("a>b") carry anything. */
function run(cores: Map<string, RaftCore>, durable: Set<string>, links: Set<string>): void {
  let msgs = drain(cores, durable);
  for (let round = 0; round < 50 && msgs.length > 0; round++) {
    for (const m of msgs) if (links.has(`${m.from}>${m.to}`)) cores.get(m.to)!.step(m);
    msgs = drain(cores, durable);
  }
}

const ALL_LINKS = new Set(IDS.flatMap((a) => IDS.filter((b) => b !== a).map((b) => `${a}>${b}`)));

function electN1(cores: Map<string, RaftCore>): RaftCore {
  const n1 = cores.get('n1')!;
  n1.campaign();
  run(cores, new Set(IDS), ALL_LINKS);
  assert.equal(n1.stats().role, 'leader');
  assert.equal(n1.stats().commitIndex, n1.lastIndex(), 'the no-op of the new term is committed');
  return n1;
}

test('asyncStorage: the leader\'s unwritten log does not count; one durable follower is not a majority', () => {
  const cores = cluster();
  const n1 = electN1(cores);
  const index = n1.propose([Buffer.from('x')]);
  assert.ok(index > 0);
  // The leader never finishes its write; only n2 stores the entry.
  run(cores, new Set(['n2']), new Set(['n1>n2', 'n2>n1']));
  assert.equal(cores.get('n2')!.lastIndex(), index, 'n2 has the entry');
  assert.ok(n1.stats().commitIndex < index, `committed ${n1.stats().commitIndex} with one durable copy`);
  // The leader's write completes: leader + n2 are a majority.
  n1.persisted(index, n1.stats().term);
  assert.equal(n1.stats().commitIndex, index);
});

test('asyncStorage: two durable followers commit without the leader\'s own write', () => {
  const cores = cluster();
  const n1 = electN1(cores);
  const index = n1.propose([Buffer.from('y')]);
  run(cores, new Set(['n2', 'n3']), ALL_LINKS);
  assert.equal(n1.stats().commitIndex, index);
  // A late report of the leader's write changes nothing; a stale one (overtaken) is ignored.
  n1.persisted(index, n1.stats().term);
  n1.persisted(index + 5, n1.stats().term);
  assert.equal(n1.stats().commitIndex, index);
});

test('asyncStorage: appends go out before the leader\'s write is durable', () => {
  const cores = cluster();
  const n1 = electN1(cores);
  const index = n1.propose([Buffer.from('z')]);
  const rd = n1.ready();
  assert.equal(rd.entries.length, 1, 'the entry is handed out to be written');
  const appends = rd.messages.filter((m) => m.type === 'append' && m.entries.some((e) => e.index === index));
  assert.equal(appends.length, 2, 'and sent to both followers in the same Ready');
  n1.advance();
});
