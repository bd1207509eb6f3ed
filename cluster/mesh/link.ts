/**
 * One gRPC link stream to a peer, from either end: the authentication handshake, then
 * batched writes from the peer's OutboundQueue, frame dispatch to the host, heartbeats
 * and silence detection. A Link is used once: when it closes, a new one is made.
 *
 * Handshake (dialer D, acceptor A):
 *   D → A  HELLO(version, nonceD, D, expected A, D's advertised address)
 *   A → D  CHALLENGE(nonceA, proofA, A)        A proves first; D checks before proving
 *   D → A  AUTH(proofD)
 *   A → D  WELCOME (link up) or DIAL_BACK (A, the smaller name, will dial D instead)
 * A refuses with a gRPC status (UNAUTHENTICATED, FAILED_PRECONDITION) and logs why.
 */
import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../src/log/logger';
import {
  FrameType,
  PROTOCOL_VERSION,
  decodeAuth,
  decodeBatch,
  decodeChallenge,
  decodeHello,
  encodeAuth,
  encodeChallenge,
  encodeControl,
  encodeGoodbye,
  encodeHello,
  encodePing,
  type FrameVisitor,
  type Hello,
} from './frame-codec';
import { computeProof, newNonce, proofMatches } from './handshake-proof';
import { ChannelTable, OutboundQueue } from './outbound-queue';

export type LinkRole = 'dialer' | 'acceptor';
export type LinkStream = grpc.ClientDuplexStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>;

/** What the acceptor does with a dialer that proved the secret. */
export type Admission = { action: 'welcome' } | { action: 'dial-back' } | { action: 'refuse'; reason: string };

/** How a link ended, for the host's bookkeeping. */
export interface LinkEnd {
  reason: string;
  /** The link had reached 'up'. */
  wasUp: boolean;
  /** Dialer side: the acceptor authenticated us and will dial back. */
  dialBack: boolean;
  /** The other side failed authentication, or refused ours. */
  authFailed: boolean;
}

/**
 * The node a Link belongs to. Every callback runs synchronously on the event loop, from
 * inside the Link's stream handlers; none may throw.
 */
export interface LinkHost {
  readonly nodeName: string;
  readonly secret: Buffer;
  readonly tickMs: number;
  readonly handshakeTimeoutMs: number;
  readonly maxBatchBytes: number;
  readonly advertiseHost: string;
  readonly advertisePort: number;
  readonly log: Logger;
  /** Acceptor side, after the dialer proved the secret. */
  admit(link: Link, hello: Hello): Admission;
  /** The link is up; the host calls `link.attach(queue)` here. */
  linkUp(link: Link): void;
  /** Called exactly once per link, whatever its state. */
  linkClosed(link: Link, end: LinkEnd): void;
  onMessage(link: Link, channel: string, payload: Buffer): void;
  onRequest(link: Link, id: number, channel: string, payload: Buffer): void;
  onResponse(link: Link, id: number, status: number, payload: Buffer): void;
  /** A flush finished and the stream accepts more; lets the host report drain. */
  flushed(link: Link): void;
}

type LinkState = 'handshake' | 'up' | 'closed';

export class Link implements FrameVisitor {
  state: LinkState = 'handshake';
  /** The peer's node name: known from the start when dialing, after HELLO when accepting. */
  peerName: string;
  /** Last round trip measured by heartbeat, in ms. */
  rttMs: number | undefined;
  /** Acceptor side: the caller's transport address as gRPC reports it ("ip:port"). */
  readonly transportPeer: string;
  /** The dialer's HELLO (acceptor side), for the address it advertised. */
  hello: Hello | undefined;

  private readonly nonce = newNonce();
  private peerNonce: Buffer | undefined;
  /** Dialer: the acceptor's proof was wrong; the link must not go up. */
  private peerProofFailed = false;
  private queue: OutboundQueue | undefined;
  private readonly outChannels = new ChannelTable();
  private readonly inChannels: string[] = [];
  private control: Buffer[] = [];
  private flushScheduled = false;
  private readonly flushBound = (): void => this.flush();
  private waitingDrain = false;
  private lastReceivedMs = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private log: Logger;

  constructor(
    private readonly host: LinkHost,
    readonly role: LinkRole,
    private readonly stream: LinkStream,
    /** Dialer: the node we dialed. Acceptor: the caller's transport address. */
    peer: string,
  ) {
    this.peerName = role === 'dialer' ? peer : '';
    this.transportPeer = role === 'acceptor' ? peer : '';
    this.log = host.log.child(role === 'dialer' ? { link: 'outbound', peer } : { link: 'inbound', address: peer });
    stream.on('data', (batch: Buffer) => this.receive(batch));
    // An 'error' listener must stay attached for the stream's whole life, or an error
    // event after close would crash the process.
    stream.on('error', (err: grpc.ServiceError) => this.closed(statusText(err), isAuthStatus(err)));
    stream.on('end', () => this.closed('stream ended by peer', false));
    stream.on('close', () => this.closed('stream closed', false));
    if (role === 'acceptor') (stream as grpc.ServerDuplexStream<Buffer, Buffer>).on('cancelled', () => this.closed('cancelled by peer', false));
    this.timer = setInterval(() => this.tick(), Math.max(10, Math.floor(host.tickMs / 4)));
    this.timer.unref();
    if (role === 'dialer') {
      this.writeNow(
        encodeHello({
          version: PROTOCOL_VERSION,
          nonce: this.nonce,
          nodeName: host.nodeName,
          expectedPeer: peer,
          advertiseHost: host.advertiseHost,
          advertisePort: host.advertisePort,
        }),
      );
    }
  }

  /** Starts writing from the peer's queue; called by the host from `linkUp`. */
  attach(queue: OutboundQueue): void {
    this.queue = queue;
    if (queue.length > 0) this.kick();
  }

  /** Schedules a flush of the queue at the end of this event-loop turn. */
  kick(): void {
    if (this.flushScheduled || this.waitingDrain || this.state !== 'up') return;
    this.flushScheduled = true;
    setImmediate(this.flushBound);
  }

  /** True while the stream is not accepting writes (waiting for 'drain'). */
  get congested(): boolean {
    return this.waitingDrain;
  }

  /**
   * Closes the link. `graceful`: tell the peer why (GOODBYE) and end the stream cleanly;
   * otherwise cancel at once. `status`: acceptor only, refuse with this gRPC status.
   */
  close(reason: string, opts: { graceful?: boolean; status?: grpc.status } = {}): void {
    if (this.state === 'closed') return;
    const wasUp = this.state === 'up';
    this.finish();
    try {
      if (opts.status !== undefined && this.role === 'acceptor') {
        this.stream.emit('error', { code: opts.status, details: reason });
      } else if (opts.graceful) {
        this.stream.write(encodeGoodbye(reason));
        this.stream.end();
      } else if (this.role === 'dialer') {
        (this.stream as grpc.ClientDuplexStream<Buffer, Buffer>).cancel();
      } else {
        this.stream.end();
      }
    } catch (err) {
      this.log.debug({ err }, 'error while closing link stream');
    }
    this.host.linkClosed(this, { reason, wasUp, dialBack: false, authFailed: opts.status === grpc.status.UNAUTHENTICATED });
  }

  // ---- receiving ----

  private receive(batch: Buffer): void {
    if (this.state === 'closed') return;
    this.lastReceivedMs = performance.now();
    try {
      decodeBatch(batch, this);
    } catch (err) {
      // A handler may have closed this link (disconnect, close) halfway through the batch.
      if (this.isClosed()) return;
      this.log.warn({ err }, 'bad frame from peer; closing link');
      this.close(`protocol error: ${(err as Error).message}`, { status: grpc.status.INVALID_ARGUMENT });
    }
  }

  onChannel(id: number, name: string): void {
    this.requireUp();
    this.inChannels[id] = name;
  }

  onMessage(channelId: number, payload: Buffer): void {
    this.requireUp();
    this.host.onMessage(this, this.channelName(channelId), payload);
  }

  onRequest(id: number, channelId: number, payload: Buffer): void {
    this.requireUp();
    this.host.onRequest(this, id, this.channelName(channelId), payload);
  }

  onResponse(id: number, status: number, payload: Buffer): void {
    this.requireUp();
    this.host.onResponse(this, id, status, payload);
  }

  onPing(sentAtMs: number): void {
    this.requireUp();
    this.control.push(encodePing(FrameType.PONG, sentAtMs));
    this.kickControl();
  }

  onPong(sentAtMs: number): void {
    this.requireUp();
    this.rttMs = Math.max(0, performance.now() - sentAtMs);
  }

  onControl(type: number, body: Buffer): void {
    if (this.state === 'closed') return;
    switch (type) {
      case FrameType.HELLO:
        return this.onHello(body);
      case FrameType.CHALLENGE:
        return this.onChallenge(body);
      case FrameType.AUTH:
        return this.onAuth(body);
      case FrameType.WELCOME:
        if (this.role !== 'dialer' || this.state !== 'handshake' || this.peerNonce === undefined) throw unexpected('WELCOME');
        if (this.peerProofFailed) return this.closeAuthFailed('peer does not know the cluster secret');
        return this.becomeUp();
      case FrameType.DIAL_BACK:
        if (this.role !== 'dialer' || this.state !== 'handshake' || this.peerNonce === undefined) throw unexpected('DIAL_BACK');
        if (this.peerProofFailed) return this.closeAuthFailed('peer does not know the cluster secret');
        this.finish();
        (this.stream as grpc.ClientDuplexStream<Buffer, Buffer>).end();
        this.host.linkClosed(this, { reason: 'peer will dial back', wasUp: false, dialBack: true, authFailed: false });
        return;
      case FrameType.GOODBYE:
        return this.closed(`peer closed the link: ${body.toString('utf8')}`, false);
      default:
        throw unexpected(`frame type ${type}`);
    }
  }

  private onHello(body: Buffer): void {
    if (this.role !== 'acceptor' || this.hello !== undefined) throw unexpected('HELLO');
    const hello = decodeHello(body);
    this.hello = hello;
    this.peerName = hello.nodeName;
    if (hello.version !== PROTOCOL_VERSION) {
      return this.refuse(grpc.status.FAILED_PRECONDITION, `protocol version ${hello.version} not supported (want ${PROTOCOL_VERSION})`);
    }
    if (hello.expectedPeer !== this.host.nodeName) {
      return this.refuse(grpc.status.FAILED_PRECONDITION, `this is node ${this.host.nodeName}, not ${hello.expectedPeer}`);
    }
    if (hello.nodeName === this.host.nodeName || hello.nodeName === '') {
      return this.refuse(grpc.status.FAILED_PRECONDITION, `peer uses this node's own name ${hello.nodeName}`);
    }
    this.peerNonce = hello.nonce;
    const proof = computeProof(this.host.secret, 'acceptor', hello.nonce, this.nonce, hello.nodeName, this.host.nodeName);
    this.writeNow(encodeChallenge({ nonce: this.nonce, proof, nodeName: this.host.nodeName }));
  }

  private onChallenge(body: Buffer): void {
    if (this.role !== 'dialer' || this.peerNonce !== undefined) throw unexpected('CHALLENGE');
    const challenge = decodeChallenge(body);
    if (challenge.nodeName !== this.peerName) {
      this.log.warn({ answeredAs: challenge.nodeName }, 'dialed address belongs to another node');
      return this.close(`address answered as ${challenge.nodeName}`);
    }
    const expected = computeProof(this.host.secret, 'acceptor', this.nonce, challenge.nonce, this.host.nodeName, this.peerName);
    this.peerNonce = challenge.nonce;
    if (!proofMatches(expected, challenge.proof)) {
      // Still send our proof, so that the acceptor finds the mismatch too and logs it; it
      // will refuse us. We will never go up on this link whatever it answers.
      this.log.warn('peer failed to prove the cluster secret; refusing it');
      this.peerProofFailed = true;
    }
    this.writeNow(encodeAuth(computeProof(this.host.secret, 'dialer', this.nonce, challenge.nonce, this.host.nodeName, this.peerName)));
  }

  private onAuth(body: Buffer): void {
    if (this.role !== 'acceptor' || this.peerNonce === undefined || this.state !== 'handshake') throw unexpected('AUTH');
    const expected = computeProof(this.host.secret, 'dialer', this.peerNonce, this.nonce, this.peerName, this.host.nodeName);
    if (!proofMatches(expected, decodeAuth(body))) {
      this.log.warn({ peer: this.peerName }, 'peer failed to prove the cluster secret; refusing it');
      return this.refuse(grpc.status.UNAUTHENTICATED, 'cluster secret proof does not match');
    }
    const admission = this.host.admit(this, this.hello!);
    if (admission.action === 'refuse') return this.refuse(grpc.status.PERMISSION_DENIED, admission.reason);
    if (admission.action === 'dial-back') {
      this.finish();
      this.stream.write(encodeControl(FrameType.DIAL_BACK, Buffer.alloc(0)));
      this.stream.end();
      this.host.linkClosed(this, { reason: 'asked peer to wait for our dial', wasUp: false, dialBack: false, authFailed: false });
      return;
    }
    this.writeNow(encodeControl(FrameType.WELCOME, Buffer.alloc(0)));
    this.becomeUp();
  }

  private becomeUp(): void {
    this.state = 'up';
    if (this.role === 'acceptor') this.log = this.log.child({ peer: this.peerName });
    this.host.linkUp(this);
    this.sendPing();
  }

  private refuse(status: grpc.status, reason: string): void {
    this.close(reason, { status });
  }

  private closeAuthFailed(reason: string): void {
    const wasUp = this.state === 'up';
    this.finish();
    (this.stream as grpc.ClientDuplexStream<Buffer, Buffer>).cancel();
    this.host.linkClosed(this, { reason, wasUp, dialBack: false, authFailed: true });
  }

  /** The stream ended or failed underneath us. */
  private closed(reason: string, authFailed: boolean): void {
    if (this.state === 'closed') return;
    const wasUp = this.state === 'up';
    this.finish();
    if (this.role === 'dialer') (this.stream as grpc.ClientDuplexStream<Buffer, Buffer>).cancel();
    else this.stream.end();
    this.host.linkClosed(this, { reason, wasUp, dialBack: false, authFailed });
  }

  private finish(): void {
    this.state = 'closed';
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.queue = undefined;
    this.control = [];
  }

  /** A method, not a field test, so that TypeScript does not narrow across callbacks. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private requireUp(): void {
    if (this.state !== 'up') throw unexpected('data frame before the link is up');
  }

  private channelName(id: number): string {
    const name = this.inChannels[id];
    if (name === undefined) throw unexpected(`undefined channel id ${id}`);
    return name;
  }

  // ---- sending ----

  private writeNow(frame: Buffer): void {
    this.stream.write(frame);
  }

  private kickControl(): void {
    if (this.flushScheduled || this.state !== 'up') return;
    // Control frames go out even while waiting for drain: they are tiny and keep the peer's
    // heartbeat view alive behind a congested data backlog.
    this.flushScheduled = true;
    setImmediate(this.flushBound);
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.state !== 'up') return;
    if (this.waitingDrain) {
      if (this.control.length > 0) {
        const control = this.control.length === 1 ? this.control[0]! : Buffer.concat(this.control);
        this.control = [];
        this.stream.write(control);
      }
      return;
    }
    const queue = this.queue;
    while (true) {
      let batch: Buffer | undefined;
      try {
        batch = queue === undefined ? undefined : queue.takeBatch(this.outChannels, this.host.maxBatchBytes, this.control);
      } catch (err) {
        this.log.error({ err }, 'cannot encode outbound batch; closing link');
        return this.close(`encode error: ${(err as Error).message}`);
      }
      if (batch === undefined && this.control.length > 0) batch = Buffer.concat(this.control);
      this.control = [];
      if (batch === undefined) break;
      if (!this.stream.write(batch)) {
        this.waitingDrain = true;
        this.stream.once('drain', () => {
          this.waitingDrain = false;
          if (this.state === 'up') this.kick();
        });
        return;
      }
    }
    this.host.flushed(this);
  }

  private sendPing(): void {
    this.control.push(encodePing(FrameType.PING, performance.now()));
    this.kickControl();
  }

  // ---- heartbeats ----

  private tick(): void {
    if (this.state === 'closed') return;
    const silentMs = performance.now() - this.lastReceivedMs;
    if (this.state === 'handshake') {
      if (silentMs > this.host.handshakeTimeoutMs) this.close('handshake timed out');
      return;
    }
    if (silentMs > this.host.tickMs) {
      this.log.warn({ silentMs: Math.round(silentMs) }, 'peer silent for longer than the tick; closing link');
      this.close(`no heartbeat for ${Math.round(silentMs)} ms`);
      return;
    }
    this.sendPing();
  }
}

function unexpected(what: string): Error {
  return new Error(`unexpected ${what}`);
}

function statusText(err: grpc.ServiceError): string {
  if (typeof err.code === 'number') return `${grpc.status[err.code] ?? err.code}: ${err.details ?? err.message}`;
  return err.message;
}

function isAuthStatus(err: grpc.ServiceError): boolean {
  return err.code === grpc.status.UNAUTHENTICATED;
}
