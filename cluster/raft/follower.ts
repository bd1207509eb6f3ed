/**
 * The follower side of RaftCore: accepting the leader's appends (with the conflict hint
 * that skips a divergent term), heartbeats, and InstallSnapshot.
 */
import type { AppendEntries, Heartbeat, InstallSnapshot, RaftMessage } from './messages';
import type { CoreState } from './core-state';

function respond(s: CoreState, m: RaftMessage, reject: boolean, index: number, hintIndex = 0): void {
  s.send({ type: 'appendResponse', from: s.id, to: m.from, term: s.term, reject, index, hintIndex });
}

export function handleAppend(s: CoreState, m: AppendEntries): void {
  s.idle = false;
  if (m.prevIndex < s.commit) return respond(s, m, false, s.commit);
  if (!s.log.matchTerm(m.prevIndex, m.prevTerm)) {
    // Hint: the last index whose term is at most prevTerm, so a whole divergent term is skipped.
    let hint = Math.min(m.prevIndex, s.log.lastIndex());
    while (hint > s.commit && (s.log.term(hint) ?? 0) > m.prevTerm) hint--;
    return respond(s, m, true, m.prevIndex, hint);
  }
  const lastNew = m.prevIndex + m.entries.length;
  let i = 0;
  for (; i < m.entries.length; i++) {
    const e = m.entries[i];
    if (s.log.term(e.index) !== e.term) break;
  }
  if (i < m.entries.length) {
    const conflict = m.entries[i].index;
    if (conflict <= s.commit) throw new Error(`raft: conflict at committed index ${conflict}`);
    let truncated = false;
    if (conflict <= s.log.lastIndex()) {
      s.log.truncateFrom(conflict);
      s.stableIndex = Math.min(s.stableIndex, conflict - 1);
      truncated = conflict <= s.configurationIndex;
    }
    const fresh = m.entries.slice(i);
    s.log.append(fresh);
    if (truncated) s.reloadConfiguration();
    else s.noteAppendedConfigs(fresh);
  }
  s.commitTo(Math.min(m.commit, lastNew));
  respond(s, m, false, lastNew);
}

export function handleHeartbeat(s: CoreState, m: Heartbeat): void {
  s.idle = m.idle;
  s.commitTo(m.commit);
  s.send({ type: 'heartbeatResponse', from: s.id, to: m.from, term: s.term, readSeq: m.readSeq });
}

export function handleSnapshot(s: CoreState, m: InstallSnapshot): void {
  s.idle = false;
  const meta = m.snapshot.meta;
  if (meta.index <= s.commit) return respond(s, m, false, s.commit);
  if (s.log.matchTerm(meta.index, meta.term)) {
    s.commitTo(meta.index);
    return respond(s, m, false, meta.index);
  }
  s.log.restore(meta);
  s.stableIndex = meta.index;
  s.snapshot = m.snapshot;
  s.pendingSnapshot = m.snapshot;
  s.snapshotConfig = { configuration: meta.configuration, index: meta.configurationIndex };
  s.setConfiguration(meta.configuration, meta.configurationIndex);
  s.commit = meta.index;
  s.appliedHanded = meta.index;
  respond(s, m, false, meta.index);
}
