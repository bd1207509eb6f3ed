import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { authenticate, canAccessVhost } from '../auth/authenticator';
import { AmqpError } from '../broker/errors';
import type { Logger } from '../log/logger';
import { streamEnds, type ConnectionListing, type ListedConnection } from '../adapter/listed-connection';
import { BrokerSession, type DurableSettler } from '../adapter/broker-session';
import type { StompContext } from './context';
import { StompError } from './errors';
import { encodeFrame, FrameError, FrameReader, type StompFrame } from './frame';
import { StompSession, type SendOutcome } from './session';
import { FrameWriter } from './writer';
import { SerialInbox } from '../adapter/serial-inbox';

const LOGIN_TIMEOUT_MS = 10_000;
/** RabbitMQ's parser limits: frames are at most 64 KiB before login and 4 MiB after. */
const LIMITS_BEFORE_LOGIN = { maxHeaders: 100, maxHeaderBytes: 100 * 1024, maxBodyBytes: 64 * 1024 };
const LIMITS_AFTER_LOGIN = { maxHeaders: 100, maxHeaderBytes: 100 * 1024, maxBodyBytes: 4 * 1024 * 1024 };
const MAX_TRANSACTIONS = 16;
const MAX_TRANSACTION_ACTIONS = 1024;
const MAX_QUEUED_FRAMES = 1000;
const VERSIONS = ['1.0', '1.1', '1.2'] as const;
let connectionCounter = 0;

/**
 * One STOMP 1.0 / 1.1 / 1.2 connection over any duplex stream (a TCP socket, or a WebSocket
 * for Web-STOMP). Frames are handled in order; while one waits for the metadata store (a
 * declare), later frames queue behind it.
 */
export class StompConnection implements DurableSettler, ListedConnection {
  readonly id: string;
  private readonly connectedAtMs = Date.now();
  private listed: { version: string; user: string; vhost: string } | undefined;
  private readonly reader = new FrameReader(LIMITS_BEFORE_LOGIN);
  private readonly writer: FrameWriter;
  private readonly log: Logger;
  private session: StompSession | undefined;
  private broker: BrokerSession | undefined;
  private state: 'awaiting-connect' | 'open' | 'closed' = 'awaiting-connect';
  private escape = true;
  private readonly inbox: SerialInbox<StompFrame>;
  private bytesRead = 0;
  private loginTimer: NodeJS.Timeout | undefined;
  private heartbeatTimers: NodeJS.Timeout[] = [];
  private readonly transactions = new Map<string, StompFrame[]>();
  /** SEND receipts waiting for the store's fsync, by publish token. */
  private readonly pendingReceipts = new Map<number, string>();
  private nextToken = 1;

  constructor(
    private readonly socket: Duplex,
    private readonly remoteAddress: string | undefined,
    private readonly ctx: StompContext,
    private readonly onClosed: (c: StompConnection) => void,
  ) {
    this.id = `${ctx.nodeName}/stomp-${++connectionCounter}`;
    this.log = ctx.log.child({ connection: this.id });
    this.writer = new FrameWriter(socket, () => this.session?.resumeDeliveries());
    this.inbox = new SerialInbox<StompFrame>(socket, MAX_QUEUED_FRAMES, {
      handle: (f) => this.handle(f),
      failed: (f, err) => this.failed(f, err),
      isClosed: () => this.state === 'closed',
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => void this.teardown());
    this.loginTimer = setTimeout(() => socket.destroy(), LOGIN_TIMEOUT_MS);
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.bytesRead += chunk.length;
    const frames: StompFrame[] = [];
    try {
      this.reader.push(chunk, frames);
    } catch (err) {
      // Whatever the reader could not take ends this connection only, never the broker.
      if (!(err instanceof FrameError)) this.log.warn({ err }, 'STOMP frame reader failed');
      for (const f of frames) this.inbox.push(f);
      return this.fatal('Malformed frame', (err as Error).message);
    }
    for (const f of frames) this.inbox.push(f);
  }

  /** Turns an error into an ERROR frame: STOMP-level ones leave the connection open, broker (AMQP) ones close it. */
  private failed(frame: StompFrame, err: unknown): void {
    const receipt = frame.headers.get('receipt');
    if (err instanceof StompError) return this.error(err.summary, err.detail, receipt, err.closes);
    if (err instanceof AmqpError) return this.error(err.replyName.toLowerCase(), err.replyText, receipt, true);
    this.log.warn({ err }, 'STOMP frame failed');
    this.error('Internal error', 'the broker could not process the frame', receipt, true);
  }

  private handle(frame: StompFrame): Promise<void> | void {
    if (this.state === 'awaiting-connect') {
      if (frame.command === 'CONNECT' || frame.command === 'STOMP') return this.connect(frame);
      throw new StompError('Illegal command', 'You must log in using CONNECT first');
    }
    const tx = frame.headers.get('transaction');
    if (tx !== undefined && (frame.command === 'SEND' || frame.command === 'ACK' || frame.command === 'NACK')) return this.buffer(tx, frame);
    switch (frame.command) {
      case 'SEND':
        return this.send(frame);
      case 'SUBSCRIBE':
        return this.session!.subscribe(frame).then(() => this.receipt(frame));
      case 'UNSUBSCRIBE':
        return this.session!.unsubscribe(frame).then(() => this.receipt(frame));
      case 'ACK':
      case 'NACK':
        this.session!.settle(frame, frame.command === 'NACK');
        return this.receipt(frame);
      case 'BEGIN':
        return this.begin(frame);
      case 'COMMIT':
        return this.commit(frame);
      case 'ABORT':
        this.takeTransaction(frame);
        return this.receipt(frame);
      case 'DISCONNECT':
        this.receipt(frame);
        this.state = 'closed';
        this.writer.end();
        return;
      case 'CONNECT':
      case 'STOMP':
        throw new StompError('Unexpected CONNECT', 'This connection is already logged in');
      default:
        throw new StompError('Bad command', `Could not interpret command ${frame.command}`);
    }
  }

  private connect(frame: StompFrame): void {
    const accepted = (frame.headers.get('accept-version') ?? '1.0').split(',').map((v) => v.trim());
    const version = [...VERSIONS].reverse().find((v) => accepted.includes(v));
    if (!version) throw new StompError('Version mismatch', `Supported versions are ${VERSIONS.join(',')}`);
    this.reader.version = version;
    this.escape = version !== '1.0';
    const login = frame.headers.get('login');
    const user = login ?? this.ctx.options.defaultUser;
    const pass = frame.headers.get('passcode') ?? this.ctx.options.defaultPass;
    const vhostName = frame.headers.get('host') || this.ctx.options.defaultVhost;
    const auth = authenticate(this.ctx.broker, 'PLAIN', user, pass, this.remoteAddress, this.ctx.auth);
    if (!auth.ok) throw new StompError('Bad CONNECT', auth.detail.includes('localhost') ? 'non-loopback access denied' : `Access refused for user '${user}'`);
    const vhost = this.ctx.broker.vhost(vhostName);
    if (!vhost || !canAccessVhost(this.ctx.broker, user, vhostName)) throw new StompError('Bad CONNECT', `Virtual host '${vhostName}' access denied`);
    clearTimeout(this.loginTimer);
    const sessionId = 'session-' + randomBytes(16).toString('base64url');
    this.broker = new BrokerSession(this.ctx.metadata, vhost, this.id, this, this.ctx.broker, user, true);
    this.session = new StompSession(
      { version, user, sessionId, topicExchange: this.ctx.options.topicExchange, nackRequeue: this.ctx.options.nackRequeue },
      this.broker,
      this.writer,
      this.escape,
    );
    this.reader.limits = LIMITS_AFTER_LOGIN;
    this.state = 'open';
    this.listed = { version, user, vhost: vhostName };
    const [sendMs, receiveMs] = this.startHeartbeats(frame.headers.get('heart-beat'));
    this.writer.send(
      encodeFrame(
        'CONNECTED',
        [
          ['server', 'Warren'],
          ['session', sessionId],
          ['heart-beat', `${sendMs},${receiveMs}`],
          ['version', version],
        ],
        undefined,
        false,
      ),
    );
  }

  /** heart-beat cx,cy: the server sends every cy and expects data every cx, both in whole seconds (1–999 ms → 1 s). */
  private startHeartbeats(header: string | undefined): [number, number] {
    const [cx, cy] = (header ?? '0,0').split(',').map((v) => Number(v.trim()));
    if (!Number.isInteger(cx) || !Number.isInteger(cy) || cx < 0 || cy < 0) throw new StompError('Invalid header', `heart-beat '${header}' is not two non-negative integers`);
    const seconds = (ms: number) => (ms === 0 ? 0 : Math.max(1000, Math.floor(ms / 1000) * 1000));
    const sendMs = seconds(cy);
    const receiveMs = seconds(cx);
    if (sendMs > 0) {
      this.heartbeatTimers.push(
        setInterval(() => {
          if (Date.now() - this.writer.lastWriteMs >= sendMs / 2) this.writer.send(Buffer.from('\n'));
        }, sendMs / 2),
      );
    }
    if (receiveMs > 0) {
      let lastSeen = this.bytesRead;
      let silent = 0;
      this.heartbeatTimers.push(
        setInterval(() => {
          if (this.bytesRead !== lastSeen) {
            lastSeen = this.bytesRead;
            silent = 0;
          } else if (++silent >= 2) {
            this.log.debug('STOMP heart-beat timeout');
            this.socket.destroy();
          }
        }, receiveMs),
      );
    }
    return [sendMs, receiveMs];
  }

  /** SEND; a promise only when the session must declare something first. */
  private send(frame: StompFrame): Promise<void> | void {
    // Only a SEND with a receipt waits for its queues (and the disk).
    const token = frame.headers.has('receipt') ? this.nextToken++ : undefined;
    const outcome = this.session!.send(frame, token);
    if (typeof outcome === 'string') return this.sent(frame, token, outcome);
    return outcome.then((o) => this.sent(frame, token, o));
  }

  private sent(frame: StompFrame, token: number | undefined, outcome: SendOutcome): void {
    this.broker!.throttle(this.socket);
    const receipt = frame.headers.get('receipt');
    if (receipt === undefined) return;
    // A SEND receipt is sent once every target queue has the message (fsynced, when persistent); none when refused.
    if (outcome === 'done') this.receipt(frame);
    else if (outcome === 'pending') this.pendingReceipts.set(token!, receipt);
  }

  settleDurable(token: number, accepted: boolean): void {
    const receipt = this.pendingReceipts.get(token);
    if (receipt === undefined) return;
    this.pendingReceipts.delete(token);
    if (accepted && this.state === 'open') this.writer.send(encodeFrame('RECEIPT', [['receipt-id', receipt]], undefined, this.escape));
  }

  private receipt(frame: StompFrame): void {
    const receipt = frame.headers.get('receipt');
    if (receipt !== undefined) this.writer.send(encodeFrame('RECEIPT', [['receipt-id', receipt]], undefined, this.escape));
  }

  private begin(frame: StompFrame): void {
    const tx = requireTransaction(frame);
    if (this.transactions.has(tx)) throw new StompError('Bad transaction', `Transaction '${tx}' is already open`);
    if (this.transactions.size >= MAX_TRANSACTIONS) throw new StompError('Bad transaction', `At most ${MAX_TRANSACTIONS} transactions may be open`);
    this.transactions.set(tx, []);
    this.receipt(frame);
  }

  private buffer(tx: string, frame: StompFrame): void {
    const actions = this.transactions.get(tx);
    if (!actions) throw new StompError('Bad transaction', `Invalid transaction identifier: ${tx}`);
    if (actions.length >= MAX_TRANSACTION_ACTIONS) throw new StompError('Bad transaction', `Transaction '${tx}' holds too many frames`);
    actions.push(frame);
    this.receipt(frame);
  }

  private takeTransaction(frame: StompFrame): StompFrame[] {
    const tx = requireTransaction(frame);
    const actions = this.transactions.get(tx);
    if (!actions) throw new StompError('Bad transaction', `Invalid transaction identifier: ${tx}`);
    this.transactions.delete(tx);
    return actions;
  }

  /** COMMIT replays the buffered frames in order (not atomically, as in RabbitMQ). */
  private async commit(frame: StompFrame): Promise<void> {
    const actions = this.takeTransaction(frame);
    for (const action of actions) {
      const replay: StompFrame = { ...action, headers: new Map(action.headers) };
      replay.headers.delete('transaction');
      replay.headers.delete('receipt');
      if (action.command === 'SEND') await this.send(replay);
      else this.session!.settle(replay, action.command === 'NACK');
    }
    this.receipt(frame);
  }

  private error(summary: string, detail: string, receipt: string | undefined, close: boolean): void {
    if (this.state === 'closed') return;
    const headers: [string, string][] = [
      ['message', summary],
      ['content-type', 'text/plain'],
      ['version', VERSIONS.join(',')],
    ];
    if (receipt !== undefined) headers.push(['receipt-id', receipt]);
    this.writer.send(encodeFrame('ERROR', headers, Buffer.from(detail), this.escape));
    if (close) {
      this.state = 'closed';
      this.writer.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    }
  }

  /** A frame the parser could not read: ERROR, then close. */
  private fatal(summary: string, detail: string): void {
    this.error(summary, detail, undefined, true);
  }

  listing(): ConnectionListing | undefined {
    if (this.state !== 'open' || !this.listed) return undefined;
    return {
      protocol: `STOMP ${this.listed.version}`,
      user: this.listed.user,
      vhost: this.listed.vhost,
      connectedAtMs: this.connectedAtMs,
      clientProperties: { product: 'STOMP client' },
      ...streamEnds(this.socket, this.remoteAddress),
    };
  }

  /** An operator closed it: an ERROR frame naming the reason, then the socket closes. */
  forceClose(reason: string): void {
    this.error('Connection closed', reason || 'Closed via management plugin', undefined, true);
  }

  /** Closes the connection at broker shutdown. */
  shutdown(): void {
    this.error('Server shutdown', 'The broker is shutting down', undefined, true);
    if (this.state !== 'closed') this.socket.destroy();
  }

  private async teardown(): Promise<void> {
    this.state = 'closed';
    clearTimeout(this.loginTimer);
    for (const t of this.heartbeatTimers) clearInterval(t);
    this.writer.close();
    this.inbox.clear();
    try {
      await this.session?.end();
    } catch (err) {
      this.log.warn({ err }, 'STOMP session cleanup failed');
    } finally {
      this.broker?.close();
      this.onClosed(this);
    }
  }
}

function requireTransaction(frame: StompFrame): string {
  const tx = frame.headers.get('transaction');
  if (tx === undefined) throw new StompError('Missing transaction', `${frame.command} must include a 'transaction' header`);
  return tx;
}
