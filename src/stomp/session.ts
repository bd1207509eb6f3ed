import { randomBytes } from 'node:crypto';
import { AccessRefused } from '../broker/errors';
import { Message } from '../broker/message';
import { encodeProperties } from '../broker/queue/dead-letter';
import type { FieldTable } from '../protocol/field-table';
import type { BasicProperties } from '../protocol/methods.generated';
import type { BrokerSession, FlowGate, Queue, QueuedMessage } from '../adapter/broker-session';
import { messageDestination, parseDestination, subscriptionQueueName, type Destination } from './destination';
import { StompError } from './errors';
import { encodeFrame, type StompFrame } from './frame';
import { headersFromProperties, propertiesFromSend } from './headers-mapping';
import { StompSubscription, type AckMode, type DeliveryTarget } from './subscription';
import type { FrameWriter } from './writer';

interface Unacked {
  subscription: StompSubscription;
  queue: Queue;
  entry: QueuedMessage;
}

/** SUBSCRIBE (and SEND) headers that become queue arguments, with their types. */
const QUEUE_ARGUMENTS: [string, 'int' | 'string'][] = [
  ['x-dead-letter-exchange', 'string'],
  ['x-dead-letter-routing-key', 'string'],
  ['x-expires', 'int'],
  ['x-message-ttl', 'int'],
  ['x-max-length', 'int'],
  ['x-max-length-bytes', 'int'],
  ['x-max-priority', 'int'],
  ['x-max-age', 'string'],
  ['x-queue-type', 'string'],
];

export interface SessionSettings {
  version: '1.0' | '1.1' | '1.2';
  user: string;
  /** `session-<base64url>`, part of every message-id. */
  sessionId: string;
  /** The exchange of /topic destinations (stomp.default_topic_exchange). */
  topicExchange: string;
  /** stomp.default_nack_requeue. */
  nackRequeue: boolean;
}

/** What a SEND came to: a receipt now, a receipt once the store has the message, or none (refused). */
export type SendOutcome = 'done' | 'pending' | 'refused';

/**
 * A logged-in STOMP session: destinations to exchanges and queues, subscriptions as consumers,
 * MESSAGE frames out, and ACK/NACK of the deliveries awaiting them.
 */
export class StompSession implements DeliveryTarget {
  readonly subscriptions = new Map<string, StompSubscription>();
  /** Deliveries awaiting ACK, by delivery tag (insertion order = tag order). */
  private readonly unacked = new Map<number, Unacked>();
  private nextTag = 1;
  /** Queues this session declared for /queue SENDs, so each is declared once. */
  private readonly declared = new Set<string>();
  /** /temp-queue/<name> → the generated queue. */
  private readonly tempQueues = new Map<string, string>();
  /** Exclusive queues of this connection, deleted when it closes. */
  private readonly exclusiveQueues = new Set<string>();

  constructor(
    readonly settings: SessionSettings,
    private readonly broker: BrokerSession,
    private readonly writer: FrameWriter,
    private readonly escape: boolean,
  ) {}

  get congested(): boolean {
    return this.writer.congested;
  }

  get gate(): FlowGate {
    return this.writer;
  }

  /** SEND: maps headers to properties and publishes; declares a /queue destination the first time. */
  /**
   * SEND: maps headers to properties and publishes. Synchronous unless a /queue destination
   * must be declared first (once per session) or a reply-to /temp-queue/ is new.
   */
  send(frame: StompFrame, token: number | undefined): SendOutcome | Promise<SendOutcome> {
    const raw = requireHeader(frame, 'destination');
    const dest = parseOrError(raw);
    if (dest.kind === 'temp-queue') throw new StompError('Invalid destination', `'${raw}' is not a valid destination for SEND; /temp-queue/ is for reply-to only`);
    const props = mapSend(frame.headers);
    if (props.userId !== undefined && props.userId !== this.settings.user) {
      throw new AccessRefused(`user_id property set to '${props.userId}' but authenticated user was '${this.settings.user}'`);
    }
    const replyTo = frame.headers.get('reply-to');
    const newTemp = replyTo !== undefined && replyTo.startsWith('/temp-queue/') && !this.tempQueues.has(replyTo);
    const undeclared = dest.kind === 'queue' && !this.declared.has(dest.queue);
    if (newTemp || undeclared) return this.prepareAndSend(frame, dest, props, token);
    if (replyTo?.startsWith('/temp-queue/')) props.replyTo = this.tempQueues.get(replyTo);
    return this.publish(frame, dest, props, token);
  }

  private async prepareAndSend(frame: StompFrame, dest: Destination, props: BasicProperties, token: number | undefined): Promise<SendOutcome> {
    const replyTo = frame.headers.get('reply-to');
    if (replyTo?.startsWith('/temp-queue/')) props.replyTo = await this.tempQueue(replyTo);
    if (dest.kind === 'queue' && !this.declared.has(dest.queue)) {
      await this.ensureQueue(dest.queue, true, false, false, queueArguments(frame.headers));
      this.declared.add(dest.queue);
    }
    return this.publish(frame, dest, props, token);
  }

  private publish(frame: StompFrame, dest: Destination, props: BasicProperties, token: number | undefined): SendOutcome {
    let exchange = '';
    let routingKey: string;
    switch (dest.kind) {
      case 'exchange':
        exchange = dest.exchange;
        routingKey = dest.pattern;
        break;
      case 'topic':
        exchange = this.settings.topicExchange;
        routingKey = dest.topic;
        break;
      case 'temp-queue':
        routingKey = dest.name;
        break;
      default:
        routingKey = dest.queue;
    }
    this.broker.checkPublishable(exchange);
    const message = new Message(exchange, routingKey, encodeProperties(props), Buffer.from(frame.body), undefined, props);
    const outcome = this.broker.publish(message, token);
    return outcome === 'pending' ? 'pending' : outcome === 'rejected' ? 'refused' : 'done';
  }

  /** The queue behind reply-to:/temp-queue/<name>: declared and subscribed (auto ack) on first use. */
  private async tempQueue(replyTo: string): Promise<string> {
    const existing = this.tempQueues.get(replyTo);
    if (existing) return existing;
    const name = 'stomp.gen-' + randomBytes(16).toString('base64url');
    const queue = await this.ensureQueue(name, false, true, true, {});
    this.tempQueues.set(replyTo, name);
    this.startSubscription(replyTo, `T_${replyTo}`, replyTo, queue, 'auto', 0, {}, false);
    return name;
  }

  async subscribe(frame: StompFrame): Promise<void> {
    const raw = requireHeader(frame, 'destination');
    const id = frame.headers.get('id');
    const key = id ?? raw;
    if (id?.startsWith('/temp-queue/')) throw new StompError('Invalid header', `subscription id '${id}' may not start with /temp-queue/`);
    if (this.subscriptions.has(key)) throw new StompError('Duplicated subscription identifier', `A subscription identified by '${key}' already exists.`, true);
    const ackMode = parseAckMode(frame.headers.get('ack'));
    const prefetchHeader = frame.headers.get('prefetch-count');
    const prefetch = prefetchHeader === undefined ? 0 : Number(prefetchHeader);
    if (!Number.isInteger(prefetch) || prefetch < 0) throw new StompError('Invalid header', `prefetch-count '${prefetchHeader}' is not a non-negative integer`);
    const dest = parseOrError(raw);
    const durable = flag(frame.headers.get('durable') ?? frame.headers.get('persistent'));
    const autoDelete = flag(frame.headers.get('auto-delete'));
    const exclusive = flag(frame.headers.get('exclusive'));
    const args = queueArguments(frame.headers);
    let queue: Queue;
    switch (dest.kind) {
      case 'queue':
        queue = durable === false ? await this.ensureQueue(dest.queue, false, true, true, args) : await this.ensureQueue(dest.queue, true, autoDelete ?? false, exclusive ?? false, args);
        break;
      case 'amq-queue':
        queue = this.broker.checkQueue(dest.queue);
        break;
      case 'topic':
      case 'exchange': {
        const exchange = dest.kind === 'topic' ? this.settings.topicExchange : dest.exchange;
        const pattern = dest.kind === 'topic' ? dest.topic : dest.pattern;
        if (dest.kind === 'exchange') this.broker.checkPublishable(exchange);
        if (durable === true && id === undefined) throw new StompError('Missing Header', 'Header \'id\' is required for durable subscriptions');
        const name = frame.headers.get('x-queue-name') ?? subscriptionQueueName(pattern, durable === true ? id : undefined);
        if (durable === true) queue = await this.ensureQueue(name, true, autoDelete ?? true, exclusive ?? dest.kind === 'exchange', args);
        else queue = await this.ensureQueue(name, false, true, true, args);
        await this.broker.bind(queue.name, exchange, pattern, {});
        break;
      }
      default:
        throw new StompError('Invalid destination', `'${raw}' is not a valid destination for SUBSCRIBE`);
    }
    const tag = id !== undefined ? `T_${id}` : `Q_${raw}`;
    const consumerArgs: FieldTable = {};
    const priority = frame.headers.get('x-priority');
    if (priority !== undefined && /^-?\d+$/.test(priority)) consumerArgs['x-priority'] = Number(priority);
    this.startSubscription(key, tag, raw, queue, ackMode, prefetch, consumerArgs, dest.kind === 'topic' && durable === true, id);
  }

  private startSubscription(key: string, tag: string, destination: string, queue: Queue, ackMode: AckMode, prefetch: number, args: FieldTable, durableTopic: boolean, id: string | undefined = key): void {
    const sub = new StompSubscription(this, id, tag, destination, queue, ackMode, prefetch, args, durableTopic);
    this.subscriptions.set(key, sub);
    const started = this.broker.consume(queue, sub);
    if (started) started.catch(() => this.subscriptionCancelled(sub));
  }

  /** Declares a queue unless it exists (an existing queue is used as it is, as RabbitMQ does). */
  private async ensureQueue(name: string, durable: boolean, autoDelete: boolean, exclusive: boolean, args: FieldTable): Promise<Queue> {
    const existing = this.broker.queue(name);
    if (existing) return this.broker.checkQueue(name);
    // A non-durable queue is always auto-delete and exclusive.
    if (!durable) autoDelete = exclusive = true;
    await this.broker.declareQueue({ name, durable, exclusive, autoDelete, arguments: args, exclusiveOwner: exclusive ? this.broker.connectionId : undefined });
    if (exclusive) this.exclusiveQueues.add(name);
    return this.broker.checkQueue(name);
  }

  async unsubscribe(frame: StompFrame): Promise<void> {
    const key = frame.headers.get('id') ?? frame.headers.get('destination');
    if (key === undefined) throw new StompError('Missing Header', 'UNSUBSCRIBE must include an \'id\' or \'destination\' header');
    const sub = this.subscriptions.get(key);
    if (!sub) throw new StompError('Bad subscription', `Subscription to '${key}' not found.`);
    this.subscriptions.delete(key);
    await this.broker.cancel(sub.queue, sub);
    const durable = flag(frame.headers.get('durable') ?? frame.headers.get('persistent'));
    if (sub.durableTopic && durable === true) await this.broker.deleteQueue(sub.queue.name);
  }

  deliver(sub: StompSubscription, queue: Queue, entry: QueuedMessage): void {
    const tag = this.nextTag++;
    const m = entry.message;
    const messageId = `${sub.tag}@@${this.settings.sessionId}@@${tag}`;
    const headers: [string, string][] = [];
    if (sub.id !== undefined) headers.push(['subscription', sub.id]);
    headers.push(['destination', messageDestination(m.exchange, m.routingKey)], ['message-id', messageId], ['redelivered', String(entry.redelivered)]);
    if (!sub.noAck) {
      if (this.settings.version === '1.2') headers.push(['ack', messageId]);
      this.unacked.set(tag, { subscription: sub, queue, entry });
      sub.unacked++;
    }
    headersFromProperties(m.properties, headers);
    this.writer.send(encodeFrame('MESSAGE', headers, m.body, this.escape));
  }

  subscriptionCancelled(sub: StompSubscription): void {
    for (const [key, s] of this.subscriptions) if (s === sub) this.subscriptions.delete(key);
    const headers: [string, string][] = [['message', 'Server cancelled subscription'], ['content-type', 'text/plain'], ['version', '1.0,1.1,1.2']];
    if (sub.id !== undefined) headers.push(['subscription', sub.id]);
    this.writer.send(encodeFrame('ERROR', headers, Buffer.from(`The queue of subscription '${sub.id ?? sub.destination}' was deleted.`), this.escape));
  }

  /** ACK (requeue undefined) or NACK: by `id` in 1.2, `message-id` before. A `client`-mode ACK is cumulative. */
  settle(frame: StompFrame, nack: boolean): void {
    const header = this.settings.version === '1.2' ? 'id' : 'message-id';
    const value = frame.headers.get(header);
    if (value === undefined) throw new StompError('Missing header', `${frame.command} must include a '${header}' header`);
    const tagText = value.slice(value.lastIndexOf('@@') + 2);
    if (!/^\d+$/.test(tagText)) throw new StompError('Invalid header', `'${header}' header '${value}' is not a message id`);
    const tag = Number(tagText);
    const u = this.unacked.get(tag);
    if (!u) throw new StompError('Message not found', `Message with id '${value}' has no subscription or was already acknowledged`);
    const taken: Unacked[] = [];
    if (u.subscription.ackMode === 'client') {
      for (const [t, v] of this.unacked) {
        if (t > tag) break;
        taken.push(v);
        this.unacked.delete(t);
      }
    } else {
      taken.push(u);
      this.unacked.delete(tag);
    }
    const requeue = nack ? (flag(frame.headers.get('requeue')) ?? this.settings.nackRequeue) : false;
    for (const t of taken) {
      t.subscription.unacked--;
      if (!nack) this.broker.ack(t.queue, t.entry);
      else if (requeue) this.broker.requeue(t.queue, [t.entry]);
      else this.broker.reject(t.queue, t.entry);
    }
  }

  resumeDeliveries(): void {
    const queues = new Set<Queue>();
    for (const s of this.subscriptions.values()) queues.add(s.queue);
    for (const q of queues) this.broker.drain(q);
  }

  /** The connection closed: consumers stop, unacked deliveries are requeued, exclusive queues deleted. */
  async end(): Promise<void> {
    const subscriptions = [...this.subscriptions.values()];
    this.subscriptions.clear();
    for (const s of subscriptions) await this.broker.cancel(s.queue, s);
    const byQueue = new Map<Queue, QueuedMessage[]>();
    for (const u of this.unacked.values()) {
      const list = byQueue.get(u.queue);
      if (list) list.push(u.entry);
      else byQueue.set(u.queue, [u.entry]);
    }
    this.unacked.clear();
    for (const [queue, entries] of byQueue) this.broker.requeue(queue, entries);
    for (const name of this.exclusiveQueues) await this.broker.deleteQueue(name).catch(() => undefined);
  }
}

function requireHeader(frame: StompFrame, name: string): string {
  const v = frame.headers.get(name);
  if (v === undefined) throw new StompError('Missing destination', `${frame.command} must include a '${name}' header`);
  return v;
}

function parseOrError(raw: string): Destination {
  try {
    return parseDestination(raw);
  } catch (err) {
    const e = err as Error & { summary?: string };
    throw new StompError(e.summary ?? 'Invalid destination', e.message);
  }
}

function mapSend(headers: Map<string, string>): ReturnType<typeof propertiesFromSend> {
  try {
    return propertiesFromSend(headers);
  } catch (err) {
    throw new StompError('Invalid header', (err as Error).message);
  }
}

function parseAckMode(v: string | undefined): AckMode {
  if (v === undefined || v === 'auto') return 'auto';
  if (v === 'client' || v === 'client-individual') return v;
  throw new StompError('Invalid ack header', `'${v}' is not a valid ack mode (auto, client, client-individual)`);
}

/** `true`/`True` → true, `false`/`False` → false, absent → undefined. */
function flag(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const l = v.toLowerCase();
  return l === 'true' ? true : l === 'false' ? false : undefined;
}

function queueArguments(headers: Map<string, string>): FieldTable {
  const args: FieldTable = {};
  for (const [name, type] of QUEUE_ARGUMENTS) {
    const v = headers.get(name);
    if (v === undefined) continue;
    if (type === 'int') {
      if (!/^-?\d+$/.test(v)) throw new StompError('Invalid header', `'${name}' must be an integer, got '${v}'`);
      args[name] = Number(v);
    } else args[name] = v;
  }
  return args;
}
