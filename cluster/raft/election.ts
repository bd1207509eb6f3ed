/**
 * Elections for RaftCore: the election timer, campaigns (with an optional pre-vote
 * round), counting votes, and answering other servers' vote requests (with the
 * check-quorum lease).
 */
import { isVoter, voters } from './types';
import type { VoteRequest, VoteResponse } from './messages';
import type { CoreState } from './core-state';
import { becomeLeader } from './replication';

/** A pre-vote round (`pre`) asks without bumping the term; `transfer` marks a TimeoutNow campaign. */
export function startCampaign(s: CoreState, pre: boolean, transfer: boolean): void {
  if (!isVoter(s.configuration, s.id)) return;
  if (pre) {
    s.role = 'preCandidate';
  } else {
    s.role = 'candidate';
    s.term += 1;
    s.vote = s.id;
  }
  s.leader = '';
  s.resetTimers();
  s.votes.clear();
  s.votes.set(s.id, true);
  if (tallyVotes(s)) return;
  const term = pre ? s.term + 1 : s.term;
  for (const id of voters(s.configuration)) {
    if (id === s.id) continue;
    s.send({
      type: 'vote', from: s.id, to: id, term, preVote: pre,
      lastIndex: s.log.lastIndex(), lastTerm: s.log.lastTerm(), transfer,
    });
  }
}

/** Returns true if the campaign ended (won or lost). */
function tallyVotes(s: CoreState): boolean {
  const vs = voters(s.configuration);
  const quorum = Math.floor(vs.length / 2) + 1;
  let granted = 0;
  let rejected = 0;
  for (const id of vs) {
    const v = s.votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  if (granted >= quorum) {
    if (s.role === 'preCandidate') startCampaign(s, false, false);
    else becomeLeader(s);
    return true;
  }
  if (rejected >= quorum || (vs.length - rejected < quorum)) {
    s.becomeFollower(s.term, '');
    return true;
  }
  return false;
}

/** With check-quorum, a server that heard from its leader within the timeout ignores vote requests. */
export function inLease(s: CoreState): boolean {
  return s.opts.checkQuorum && s.leader !== '' && s.electionElapsed < s.leaseTicks();
}

export function tickElection(s: CoreState): void {
  s.electionElapsed++;
  if (s.electionElapsed >= s.electionTimeout() && isVoter(s.configuration, s.id) && !s.noCampaigns) {
    s.electionElapsed = 0;
    s.idle = false;
    startCampaign(s, s.opts.preVote, false);
  }
}

export function handleVote(s: CoreState, m: VoteRequest): void {
  const canVote =
    s.vote === m.from || (s.vote === '' && s.leader === '') || (m.preVote && m.term > s.term);
  if (canVote && s.log.isUpToDate(m.lastIndex, m.lastTerm)) {
    s.send({ type: 'voteResponse', from: s.id, to: m.from, term: m.term, preVote: m.preVote, reject: false });
    if (!m.preVote) {
      s.electionElapsed = 0;
      s.vote = m.from;
    }
  } else {
    s.send({ type: 'voteResponse', from: s.id, to: m.from, term: s.term, preVote: m.preVote, reject: true });
  }
}

/** A vote for (or against) this (pre-)candidate. */
export function handleVoteResponse(s: CoreState, m: VoteResponse): void {
  const pre = s.role === 'preCandidate';
  if (m.preVote !== pre) return;
  if (pre && !m.reject && m.term !== s.term + 1) return;
  s.votes.set(m.from, !m.reject);
  tallyVotes(s);
}
