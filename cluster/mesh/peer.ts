/**
 * What one node knows about one peer: status, the link in use, the dial in progress,
 * where to dial, frames waiting to be written, requests waiting for a response, and the
 * retry timer with its backoff. Plain state; the decisions live in mesh.ts.
 */
import type { Link } from './link';
import type { MeshError } from './mesh-errors';
import { OutboundQueue } from './outbound-queue';

export interface PeerAddress {
  host: string;
  port: number;
}

export type PeerStatus = 'up' | 'down';

/** A snapshot of one peer, as `Mesh.peers()` returns it. */
export interface PeerInfo {
  name: string;
  status: PeerStatus;
  /** When the status last changed (epoch ms). */
  sinceMs: number;
  /** Last heartbeat round trip, while up. */
  rttMs: number | undefined;
  /** Which side dialed the link in use. */
  direction: 'outbound' | 'inbound' | undefined;
  /** The address last dialed or learned. */
  address: PeerAddress | undefined;
  /** Why the last link or dial attempt ended. */
  lastError: string | undefined;
  /** Bytes of frames waiting to be written. */
  queuedBytes: number;
}

export interface PendingRequest {
  resolve(payload: Buffer): void;
  reject(err: MeshError): void;
  timer: NodeJS.Timeout;
}

export interface BackoffOptions {
  /** First retry delay after a failure; default 100 ms. */
  initialMs: number;
  /** Largest retry delay; default 2000 ms. */
  maxMs: number;
}

export class Peer {
  status: PeerStatus = 'down';
  sinceMs = Date.now();
  /** The link in use while up. */
  link: Link | undefined;
  /** An outbound attempt in progress (handshaking), or true while resolving the address. */
  dialing: Link | true | undefined;
  /** Given to `connect()`; wins over the resolver and learned addresses. */
  explicitAddress: PeerAddress | undefined;
  /** Advertised by the peer when it dialed us. */
  learnedAddress: PeerAddress | undefined;
  lastAddress: PeerAddress | undefined;
  lastError: string | undefined;
  readonly queue = new OutboundQueue();
  readonly pending = new Map<number, PendingRequest>();
  /** send() returned false; emit 'drain' once the queue is low again. */
  wantDrain = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;

  constructor(
    readonly name: string,
    private readonly backoff: BackoffOptions,
  ) {
    this.backoffMs = backoff.initialMs;
  }

  /** Runs `fn` after `delayMs`, replacing any retry already scheduled. */
  scheduleRetry(delayMs: number, fn: () => void): void {
    this.cancelRetry();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      fn();
    }, delayMs);
    this.retryTimer.unref();
  }

  cancelRetry(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  get retryScheduled(): boolean {
    return this.retryTimer !== undefined;
  }

  /** The next retry delay, with ±20% jitter so that restarted nodes do not dial in lockstep; doubles each call. */
  nextBackoffMs(): number {
    const base = this.backoffMs;
    this.backoffMs = Math.min(this.backoff.maxMs, this.backoffMs * 2);
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  resetBackoff(): void {
    this.backoffMs = this.backoff.initialMs;
  }

  info(): PeerInfo {
    return {
      name: this.name,
      status: this.status,
      sinceMs: this.sinceMs,
      rttMs: this.status === 'up' ? this.link?.rttMs : undefined,
      direction: this.link === undefined ? undefined : this.link.role === 'dialer' ? 'outbound' : 'inbound',
      address: this.lastAddress ?? this.explicitAddress ?? this.learnedAddress,
      lastError: this.lastError,
      queuedBytes: this.queue.bytes,
    };
  }
}
