/**
 * The leader side of RaftCore: taking office, appending, replicating to each follower
 * under flow control (probe, pipelined replicate, snapshot), advancing commit, the
 * leader's ticks (heartbeats, check-quorum, transfer timeout) and the replies it gets.
 */
import type { Progress } from './progress';
import { EntryType, voters, isVoter, type ServerId } from './types';
import type { AppendEntries, AppendResponse, Heartbeat, HeartbeatResponse, InstallSnapshot, RaftMessage } from './messages';
import type { CoreState } from './core-state';

export function becomeLeader(s: CoreState): void {
  s.role = 'leader';
  s.leader = s.id;
  s.resetTimers();
  s.leadTransferee = '';
  s.reads.clear();
  s.progress.clear();
  for (const server of s.configuration.servers) {
    if (server.id !== s.id) s.progress.set(server.id, s.newProgress());
  }
  s.termStartIndex = s.log.lastIndex() + 1;
  // The no-op lets this term commit, which commits earlier terms' entries with it (§5.4.2).
  appendLocal(s, [{ type: EntryType.Noop, data: Buffer.alloc(0) }]);
}

/** Appends entries of the current term to the leader's own log; they go out with the next ready(). */
export function appendLocal(s: CoreState, items: { type: EntryType; data: Buffer }[]): void {
  let index = s.log.lastIndex();
  const entries = items.map((it) => ({ index: ++index, term: s.term, type: it.type, data: it.data }));
  s.log.append(entries);
  s.noteAppendedConfigs(entries);
  s.needBroadcast = true;
  s.quietTicks = 0;
  s.idle = false;
  maybeCommit(s);
}

/** Advances commit to the highest index stored on a quorum of voters, if of this term (§5.4.2). */
export function maybeCommit(s: CoreState): boolean {
  const vs = voters(s.configuration);
  if (vs.length === 0) return false;
  const own = s.opts.asyncStorage ? Math.min(s.stableIndex, s.log.lastIndex()) : s.log.lastIndex();
  const matches = vs.map((id) => (id === s.id ? own : s.progress.get(id)?.match ?? 0));
  matches.sort((a, b) => b - a);
  const n = matches[Math.floor(vs.length / 2)];
  if (n <= s.commit || s.log.term(n) !== s.term) return false;
  s.commit = n;
  // A leader removed from the configuration steps down once the removal is committed.
  if (!isVoter(s.configuration, s.id) && s.configurationIndex <= s.commit) {
    broadcastAppend(s, true);
    s.becomeFollower(s.term, '');
  }
  return true;
}

export function tickLeader(s: CoreState): void {
  s.heartbeatElapsed++;
  s.electionElapsed++;
  if (s.leadTransferee !== '' && ++s.transferElapsed >= s.opts.electionTimeoutTicks) {
    s.leadTransferee = '';
  }
  for (const pr of s.progress.values()) {
    if (pr.state === 'snapshot' && ++pr.snapshotTicks >= s.opts.electionTimeoutTicks) pr.becomeProbe();
  }
  if (s.electionElapsed >= s.leaseTicks()) {
    s.electionElapsed = 0;
    if (s.opts.checkQuorum && !quorumActive(s)) {
      s.becomeFollower(s.term, '');
      return;
    }
  }
  if (s.opts.idleHeartbeatTicks > 0) noteQuiet(s);
  if (s.heartbeatElapsed >= (s.idle ? s.opts.idleHeartbeatTicks : s.opts.heartbeatTicks)) {
    s.heartbeatElapsed = 0;
    for (const id of s.progress.keys()) sendHeartbeat(s, id, s.reads.lastSeq());
  }
}

/**
 * The idle pace: once every follower holds the whole (committed) log and nothing was
 * appended for idleHeartbeatTicks, heartbeats go out that rarely, marked idle (the first
 * one at once, so followers lengthen their timeouts before the gap).
 */
function noteQuiet(s: CoreState): void {
  const last = s.log.lastIndex();
  let caughtUp = s.commit === last && s.leadTransferee === '';
  for (const pr of s.progress.values()) if (pr.match !== last) caughtUp = false;
  if (!caughtUp) {
    s.quietTicks = 0;
    s.idle = false;
    return;
  }
  if (!s.idle && ++s.quietTicks >= s.opts.idleHeartbeatTicks) {
    s.idle = true;
    s.heartbeatElapsed = s.opts.idleHeartbeatTicks;
  }
}

function quorumActive(s: CoreState): boolean {
  const vs = voters(s.configuration);
  let active = 0;
  for (const id of vs) {
    if (id === s.id) active++;
    else if (s.progress.get(id)?.recentActive) active++;
  }
  for (const pr of s.progress.values()) pr.recentActive = false;
  return active >= Math.floor(vs.length / 2) + 1;
}

/** A message to the leader from one of its followers (or non-voters). */
export function stepLeader(s: CoreState, m: RaftMessage): void {
  const pr = s.progress.get(m.from);
  if (!pr) return;
  pr.recentActive = true;
  if (m.type === 'appendResponse') handleAppendResponse(s, m, pr);
  else if (m.type === 'heartbeatResponse') handleHeartbeatResponse(s, m, pr);
}

function handleAppendResponse(s: CoreState, m: AppendResponse, pr: Progress): void {
  if (m.reject) {
    if (pr.state === 'snapshot') return;
    if (pr.state === 'replicate' ? m.index <= pr.match : m.index !== pr.next - 1) return; // stale
    if (pr.state === 'replicate') pr.becomeProbe();
    pr.next = Math.max(pr.match + 1, Math.min(m.index, m.hintIndex + 1));
    pr.probeSent = false;
    sendAppend(s, m.from);
    return;
  }
  const wasPaused = pr.isPaused();
  if (!pr.update(m.index)) {
    if (wasPaused && !pr.isPaused()) sendAppends(s, m.from);
    return;
  }
  if (pr.state === 'probe' || (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot)) pr.becomeReplicate();
  if (maybeCommit(s)) {
    if (s.role !== 'leader') return;
    broadcastAppend(s, !s.opts.lazyCommitNotice);
  } else {
    sendAppends(s, m.from);
  }
  if (m.from === s.leadTransferee && pr.match === s.log.lastIndex()) {
    s.send({ type: 'timeoutNow', from: s.id, to: m.from, term: s.term });
  }
}

function handleHeartbeatResponse(s: CoreState, m: HeartbeatResponse, pr: Progress): void {
  pr.probeSent = false;
  if (pr.state === 'replicate' && pr.inflight.length >= pr.maxInflight) pr.inflight.shift();
  if (pr.match < s.log.lastIndex()) sendAppend(s, m.from, true);
  if (m.readSeq > 0) {
    const confirmed = s.reads.ack(m.from, m.readSeq, voters(s.configuration));
    for (const rs of confirmed) s.readStates.push(rs);
  }
}

export function broadcastAppend(s: CoreState, sendIfEmpty: boolean): void {
  for (const id of s.progress.keys()) {
    if (sendIfEmpty) sendAppend(s, id, true);
    sendAppends(s, id);
  }
}

/** Sends as many batches as flow control allows (pipelining in replicate state). */
function sendAppends(s: CoreState, to: ServerId): void {
  const pr = s.progress.get(to);
  for (let i = 0; i < s.opts.maxInflightAppends + 1; i++) {
    if (!sendAppend(s, to)) return;
    if (!pr || pr.state !== 'replicate') return;
  }
}

/** Sends one append (or a snapshot) to `to`; returns false if nothing was sent. */
export function sendAppend(s: CoreState, to: ServerId, sendIfEmpty = false): boolean {
  const pr = s.progress.get(to);
  if (!pr || pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  const prevTerm = s.log.term(prevIndex);
  if (prevTerm === undefined) {
    if (prevIndex > s.log.lastIndex()) {
      pr.next = s.log.lastIndex() + 1;
      return sendAppend(s, to, sendIfEmpty);
    }
    return sendSnapshot(s, to, pr);
  }
  const entries = s.log.slice(pr.next, s.log.lastIndex(), s.opts.maxEntriesPerAppend);
  if (entries.length === 0 && !sendIfEmpty) return false;
  const msg: AppendEntries = {
    type: 'append', from: s.id, to, term: s.term, prevIndex, prevTerm, entries, commit: s.commit,
  };
  s.send(msg);
  pr.sentEntries(prevIndex + entries.length, entries.length);
  return true;
}

function sendSnapshot(s: CoreState, to: ServerId, pr: Progress): boolean {
  if (!s.snapshot) throw new Error('raft: log compacted without a snapshot');
  const msg: InstallSnapshot = { type: 'installSnapshot', from: s.id, to, term: s.term, snapshot: s.snapshot };
  s.send(msg);
  pr.becomeSnapshot(s.snapshot.meta.index);
  return true;
}

export function sendHeartbeat(s: CoreState, to: ServerId, readSeq: number): void {
  const pr = s.progress.get(to);
  const commit = Math.min(pr?.match ?? 0, s.commit);
  const msg: Heartbeat = { type: 'heartbeat', from: s.id, to, term: s.term, commit, readSeq, idle: s.idle };
  s.send(msg);
}
