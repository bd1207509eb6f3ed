/** A quorum queue following its leader: leader events on a node that does not lead it, this node's consumers re-attached to the new leader, callers waiting for a leader. */
import { NotFound } from '../../src/broker/errors';
import type { RemoteConsumer } from '../forward/remote-queue';
import { SETTLE_HOLDS } from '../forward/forward-codec';
import { QuorumPublishing } from './quorum-publishing';

/** How long declare-ok, get, consume and counts wait for a leader to be elected. */
const LEADER_WAIT_MS = 5000;
/** How long a consumer following a new leader is offered to it again before it is cancelled, and how often. */
const REATTACH_MS = 15_000;
const REATTACH_RETRY_MS = 250;

export abstract class QuorumFollowing extends QuorumPublishing {
  private leaderWaiters: (() => void)[] = [];

  /** This node is not a member and knows no leader: ask the members (the leader announces itself). */
  protected abstract askLeader(): void;

  override get consumerHome(): string {
    return this.attachedTo;
  }

  /**
   * A node that is not a member learns the leader (and its term; 0 from an older node) from
   * its announcement; the same leader in a later term had its live queue built anew.
   */
  leaderAnnounced(leader: string, term = 0): void {
    if (this.member || this.deleted) return;
    if (leader === this.home && leader === this.attachedTo && (term === 0 || term === this.attachedTerm)) return;
    this.followLeader(leader, term);
  }

  protected followLeader(leader: string, term = 0): void {
    const moved = leader !== this.home;
    this.home = leader;
    if (leader === '') return;
    if (moved) this.wakeLeaderWaiters();
    // The same leader in the same term (this node only lost sight of it for a while): its
    // consumers are still attached there, their deliveries buffered here still theirs. (An
    // announcement to a node that is not a member carries no term: 0 matches any.)
    if (leader === this.attachedTo && (term === this.attachedTerm || term === 0 || this.attachedTerm === 0)) {
      if (term !== 0) this.attachedTerm = term;
      if (moved && this.consumers.size > 0) this.qhost.log.info({ queue: this.name, leader, term }, 'quorum queue leader known again, same term: consumers stay attached');
      return;
    }
    this.attachedTo = leader;
    this.attachedTerm = term;
    // This node's consumers follow the leader: re-attached there with the same ids. What
    // their clients have not seen yet goes back, the settles sent to the old leader are sent
    // again by log id, and the leader learns what they still hold (what it holds for them
    // beyond that was lost on the way), before the consumes, on the same link.
    for (const rc of this.consumers.values()) this.unseen(rc);
    this.resendRecent();
    // (Sent even when empty: a get reply lost with the old leader leaves a message held for this node's get holder.)
    this.settleByLog(SETTLE_HOLDS, this.holds());
    const giveUpAt = Date.now() + REATTACH_MS;
    for (const rc of this.consumers.values()) {
      rc.creditOwed = 0;
      this.reattach(rc, leader, term, giveUpAt);
    }
  }

  /**
   * Asks `leader` to take consumer `rc`. A leader that is stopping, or was elected a moment
   * ago on a loaded machine, may not answer yet: asked again while it is up (a leader that
   * went down is followed by the next one), cancelled only when it keeps refusing.
   */
  private reattach(rc: RemoteConsumer, leader: string, term: number, giveUpAt: number): void {
    this.requestConsume(rc).catch((err: unknown) => {
      if (this.deleted || this.attachedTo !== leader || this.attachedTerm !== term || this.consumers.get(rc.consumer) !== rc) return;
      if (!this.host.isUp(leader)) return;
      if (Date.now() < giveUpAt) {
        setTimeout(() => this.reattach(rc, leader, term, giveUpAt), REATTACH_RETRY_MS).unref();
        return;
      }
      this.qhost.log.warn({ err, queue: this.name, leader }, 'consumer could not follow the quorum queue leader');
      this.cancelledByHome(rc);
    });
  }

  protected wakeLeaderWaiters(): void {
    if (!this.deleted) this.enqueuer.leaderMoved();
    if (this.held.length > 0 && (this.live || this.host.isUp(this.home))) this.releaseHeld(true);
    if (this.pendingLogSettles.size > 0) this.sendPendingLogSettles();
    const w = this.leaderWaiters;
    this.leaderWaiters = [];
    for (const f of w) f();
  }

  protected async waitForLeader(): Promise<void> {
    if (this.live || (this.home !== '' && this.host.isUp(this.home))) return;
    if (!this.member) this.askLeader();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, LEADER_WAIT_MS);
      this.leaderWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (this.live || (this.home !== '' && this.host.isUp(this.home))) return;
    throw new NotFound(`quorum queue '${this.name}' in vhost '${this.vhost}' has no leader: fewer than a majority of its members (${this.members.join(', ')}) are reachable`);
  }

  /** The leader's node went down: consumers stay, waiting for the next leader (what they had not seen goes back to it). */
  override homeDown(): void {
    for (const rc of this.consumers.values()) this.unseen(rc);
  }
}
