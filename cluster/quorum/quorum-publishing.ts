/** A quorum queue's publish path: publishes through this node's enqueuer to the leader (or proposed here while leading), held while no leader is reachable, re-routed when the group refuses them. */
import type { EnqueueOrigin, Message } from '../../src/broker/message';
import type { ConfirmParts } from '../../src/broker/ports';
import type { QueueDefinition } from '../../src/broker/queue/queue-definition';
import type { RemoteQueueHost } from '../forward/remote-queue';
import { partResend } from '../forward/resend-parts';
import type { QuorumGroup } from './quorum-group';
import { Enqueuer } from './enqueuer';
import { NackLog } from './nack-log';
import { QuorumHoldings, type QuorumNodeHost } from './quorum-holdings';

/** Publishes kept while the queue has no reachable leader, and for how long at most. */
const MAX_HELD_MESSAGES = 20_000;
const HOLD_MS = 5000;
/** How soon a publish refused during a leadership transfer is offered again. */
const REROUTE_RETRY_MS = 10;

interface HeldPublish {
  message: Message;
  confirm: ConfirmParts | undefined;
  seq: number;
}

export abstract class QuorumPublishing extends QuorumHoldings {
  protected held: HeldPublish[] = [];
  private heldTimer: NodeJS.Timeout | undefined;
  /** This node's confirmed publishes to the leader, sent again to the next one when it goes. */
  protected readonly enqueuer: Enqueuer;
  /** Nacks said on this node, counted by reason (logged at most once a second). */
  private readonly nacks: NackLog;

  constructor(host: RemoteQueueHost, qhost: QuorumNodeHost, vhost: string, def: QueueDefinition, member: QuorumGroup | undefined) {
    super(host, qhost, vhost, def, member);
    this.nacks = new NackLog(qhost.log, def.name);
    this.enqueuer = new Enqueuer({
      nacked: (count, reason) => this.nacks.add(count, `enqueuer: ${reason}`),
      self: qhost.nodeName,
      target: () => (this.live ? qhost.nodeName : this.home !== '' && this.host.isUp(this.home) ? this.home : undefined),
      sendTo: (_node, message, parts, seq, origin) => super.forward(message, parts, seq, origin),
      takeLocal: (message, parts, seq, origin) => this.takeHere(message, parts, seq, origin),
    });
  }

  /** The group refused these publishes without appending them (see reroute). */
  protected refused(messages: Message[], confirms: (ConfirmParts | undefined)[], seqs: number[], origins: (EnqueueOrigin | undefined)[]): void {
    this.reroute(messages, confirms, seqs, origins, Date.now() + HOLD_MS);
  }

  /**
   * Publishes the group refused without appending them (a leadership transfer under way, or
   * this node just stopped leading) go to the next leader, or wait for it like publishes
   * without a leader, instead of being nacked; nacked only when no leader appears in time.
   */
  private reroute(messages: Message[], confirms: (ConfirmParts | undefined)[], seqs: number[], origins: (EnqueueOrigin | undefined)[], deadline: number): void {
    if (origins.length > 0) {
      // Those with an origin are sent again by their enqueuer, in its order, to the leader it knows.
      const rest: number[] = [];
      for (let i = 0; i < messages.length; i++) {
        const c = confirms[i];
        if (!origins[i]) rest.push(i);
        else if (c) partResend(c, seqs[i]);
      }
      messages = rest.map((i) => messages[i]);
      confirms = rest.map((i) => confirms[i]);
      seqs = rest.map((i) => seqs[i]);
      origins = [];
      if (messages.length === 0) return;
    }
    if (this.live && !this.deleted && Date.now() < deadline) {
      // Still leading: the transfer has not finished (or was given up); try again shortly.
      setTimeout(() => this.reroute(messages, confirms, seqs, origins, deadline), REROUTE_RETRY_MS).unref();
      return;
    }
    let nacked = 0;
    for (let i = 0; i < messages.length; i++) {
      const ok = !this.deleted && Date.now() < deadline + HOLD_MS && this.forward(messages[i], confirms[i], seqs[i]);
      if (!ok && confirms[i]) nacked++;
      confirms[i]?.partDone(seqs[i], ok);
    }
    this.nacks.add(nacked, 'refused during a handover, no origin, no leader in time');
  }

  /**
   * A confirmed publish goes through this node's enqueuer (to the leader with its origin,
   * proposed here while this node leads; sent again to the next leader if the outcome is
   * lost with a leader, here or elsewhere). Otherwise: led here, proposed to the Raft
   * group; else forwarded to the leader (or held while there is none), one forwarded from
   * another node with its origin kept.
   */
  override forward(message: Message, confirm: ConfirmParts | undefined, seq: number): boolean {
    if (confirm && !message.origin && !this.deleted && this.enqueuer.send(message, confirm, seq)) return true;
    if (this.live) return this.takeHere(message, confirm, seq);
    return super.forward(message, confirm, seq, message.origin);
  }

  override takeHere(message: Message, confirm: ConfirmParts | undefined, seq: number, origin = message.origin): boolean {
    const live = this.live;
    if (!live || this.deleted) return false;
    // overflow reject-publish: refused at the limit (in-flight publishes may overshoot, as in
    // RabbitMQ); messages waiting for at-least-once dead lettering count.
    const dlxCount = this.dlx?.count ?? 0;
    const dlxBytes = this.dlx?.bytes ?? 0;
    if (live.config.overflow !== 'drop-head' && live.config.maxLength !== undefined && live.messageCount + dlxCount >= live.config.maxLength) return false;
    if (live.config.overflow !== 'drop-head' && live.config.maxLengthBytes !== undefined && live.messageBytes + dlxBytes + message.body.length > live.config.maxLengthBytes) return false;
    this.member!.enqueue(message, confirm, seq, origin);
    return true;
  }

  /** Publishes arriving while no leader is reachable wait (bounded) for the next one instead of being nacked. */
  override holdWhileAway(message: Message, confirm: ConfirmParts | undefined, seq: number): boolean {
    if (this.deleted || this.held.length >= MAX_HELD_MESSAGES) {
      if (confirm && !this.deleted) this.nacks.add(1, 'no leader reachable and the hold is full');
      return false;
    }
    confirm?.hold(seq);
    this.held.push({ message, confirm, seq });
    this.heldTimer ??= setTimeout(() => this.releaseHeld(false), HOLD_MS);
    return true;
  }

  /** Passes held publishes to the leader now reachable (or refuses them: no leader in time, deleted). */
  protected releaseHeld(toLeader: boolean): void {
    clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
    const held = this.held;
    this.held = [];
    for (const h of held) {
      let ok = false;
      if (toLeader && !this.deleted) ok = this.forward(h.message, h.confirm, h.seq);
      // One forwarded with its origin goes back to its enqueuer, which sends it to the leader it knows.
      if (!ok && h.message.origin && h.confirm && !this.deleted) partResend(h.confirm, h.seq);
      else {
        if (!ok && h.confirm) this.nacks.add(1, toLeader ? 'held while no leader, the leader refused it' : 'held while no leader, no origin, none in time');
        h.confirm?.partDone(h.seq, ok);
      }
    }
  }
}
