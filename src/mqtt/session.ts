import type { IPublishPacket } from 'mqtt-packet';
import type { Message } from '../broker/message';
import type { FieldTable } from '../protocol/field-table';
import type { BrokerSession, Consumer, FlowGate, Queue, QueuedMessage } from '../adapter/broker-session';
import { messageQos, toMqttProperties, type MqttPublishProperties } from './message-mapping';
import type { PacketWriter } from './packet-writer';
import type { RetainedMessage } from './retained-store';
import { amqpToMqtt, mqttToAmqp, topicMatches } from './topic';

export interface SubscriptionOptions {
  qos: 0 | 1;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: number;
  /** MQTT 5 subscription identifier. */
  id: number | undefined;
  /** The binding's arguments, to remove exactly this binding later. */
  args: FieldTable;
}

/** A QoS 1 delivery waiting for the client's PUBACK; queue and entry are absent for retained messages. */
interface Inflight {
  queue: Queue | undefined;
  entry: QueuedMessage | undefined;
}

/** Facts about messages that only the publishing side knows, kept without touching the message. */
export interface PublishMarks {
  /** Messages published with RETAIN=1 (for Retain-As-Published). */
  readonly retained: WeakSet<Message>;
  /** The session that published a message (for No-Local). */
  readonly publisher: WeakMap<Message, MqttSession>;
}

export interface SessionSettings {
  clientId: string;
  version: 3 | 4 | 5;
  exchange: string;
  /** 0 = the session ends with the connection. */
  expirySeconds: number;
  /** Most unacked QoS 1 deliveries. */
  prefetch: number;
  /** The client's Maximum-Packet-Size; larger deliveries are dropped. */
  maxPacketBytes: number;
  /** Owner id of the connection, for the exclusive queues of a session that ends with it. */
  connectionId: string;
}

/** The receiving end of a session queue, for the queue's dispatch loop. */
class SessionConsumer implements Consumer {
  readonly tag = 'mqtt';
  readonly exclusive = false;
  readonly args: FieldTable = {};
  readonly priority = 0;
  readonly prefetchCount: number;

  constructor(
    private readonly session: MqttSession,
    readonly queue: Queue,
    /** QoS 0 queues are consumed with auto-ack, QoS 1 with manual ack. */
    readonly noAck: boolean,
  ) {
    this.prefetchCount = noAck ? 0 : session.settings.prefetch;
  }

  canTake(): boolean {
    return this.session.canTake(this.noAck);
  }

  congestion(): FlowGate | undefined {
    return this.session.writer.congested ? this.session.writer : undefined;
  }

  deliver(queue: Queue, entry: QueuedMessage): void {
    this.session.deliver(this, queue, entry);
  }

  cancelledByQueue(): void {
    this.session.queueGone(this);
  }
}

/**
 * An MQTT session: its subscriptions, the one queue per QoS level they share
 * (mqtt-subscription-<client id>qos0 / qos1), the consumers on those queues and the QoS 1
 * deliveries awaiting PUBACK.
 */
export class MqttSession {
  readonly subscriptions = new Map<string, SubscriptionOptions>();
  private readonly consumers: (SessionConsumer | undefined)[] = [undefined, undefined];
  private readonly inflight = new Map<number, Inflight>();
  private nextPacketId = 1;
  /** Some subscription needs per-message matching (No-Local or a subscription identifier). */
  private matchPerMessage = false;
  /** Called when the session's queue was deleted under it (the connection closes). */
  onQueueGone: (() => void) | undefined;

  constructor(
    readonly settings: SessionSettings,
    private readonly broker: BrokerSession,
    readonly writer: PacketWriter,
    private readonly marks: PublishMarks,
  ) {}

  queueName(qos: 0 | 1): string {
    return `mqtt-subscription-${this.settings.clientId}qos${qos}`;
  }

  /** Clean Start: deletes the queues a previous session left. */
  async discardStored(): Promise<void> {
    await this.broker.deleteQueue(this.queueName(0));
    await this.broker.deleteQueue(this.queueName(1));
  }

  /**
   * Clean Start = 0: takes over the subscriptions of a stored session; true when there was one.
   * Its queues are consumed from startStored(), once CONNACK is out.
   */
  resume(): boolean {
    let found = false;
    for (const qos of [0, 1] as const) {
      const queue = this.broker.queue(this.queueName(qos));
      if (!queue) continue;
      found = true;
      for (const b of this.broker.bindingsOf(queue.name, this.settings.exchange)) {
        this.subscriptions.set(amqpToMqtt(b.routingKey), optionsFromBinding(qos, b.args));
      }
    }
    this.refreshMatching();
    return found;
  }

  /** Starts consuming the queues a resumed session found. */
  startStored(): void {
    for (const qos of [0, 1] as const) {
      const queue = this.broker.queue(this.queueName(qos));
      if (queue) this.startConsumer(qos, queue);
    }
  }

  /** SUBSCRIBE: binds each filter to the queue of its granted QoS; returns the granted QoS per filter. */
  async subscribe(filter: string, requested: { qos: number; nl?: boolean; rap?: boolean; rh?: number }, id: number | undefined): Promise<{ granted: 0 | 1; isNew: boolean }> {
    const qos: 0 | 1 = requested.qos >= 1 ? 1 : 0;
    const queueName = this.queueName(qos);
    const queue = await this.ensureQueue(qos);
    const key = mqttToAmqp(filter);
    const previous = this.subscriptions.get(filter);
    if (previous) await this.broker.unbind({ source: this.settings.exchange, destination: this.queueName(previous.qos), destinationKind: 'queue', routingKey: key, args: previous.args });
    const options: SubscriptionOptions = { qos, noLocal: requested.nl === true, retainAsPublished: requested.rap === true, retainHandling: requested.rh ?? 0, id, args: {} };
    if (this.settings.version === 5) {
      const opts: FieldTable = { qos, 'no-local': options.noLocal, 'retain-as-published': options.retainAsPublished, 'retain-handling': options.retainHandling };
      if (id !== undefined) opts.id = id;
      options.args = { 'x-mqtt-subscription-opts': opts, 'x-binding-key': key };
    }
    await this.broker.bind(queueName, this.settings.exchange, key, options.args);
    this.subscriptions.set(filter, options);
    this.refreshMatching();
    this.startConsumer(qos, queue);
    return { granted: qos, isNew: previous === undefined };
  }

  /** UNSUBSCRIBE: removes the filter's binding (the queue stays); false when there was none. */
  async unsubscribe(filter: string): Promise<boolean> {
    const previous = this.subscriptions.get(filter);
    if (!previous) return false;
    this.subscriptions.delete(filter);
    this.refreshMatching();
    await this.broker.unbind({ source: this.settings.exchange, destination: this.queueName(previous.qos), destinationKind: 'queue', routingKey: mqttToAmqp(filter), args: previous.args });
    return true;
  }

  private async ensureQueue(qos: 0 | 1): Promise<Queue> {
    const name = this.queueName(qos);
    const existing = this.broker.queue(name);
    if (existing) return existing;
    const expiry = this.settings.expirySeconds;
    const args: FieldTable = {};
    if (expiry > 0 && expiry < 0xffffffff) args['x-expires'] = expiry * 1000;
    // A session that ends with its connection keeps no messages across restarts: its queues are
    // exclusive and (unlike RabbitMQ's) transient, so its persistent messages skip the store.
    await this.broker.declareQueue({ name, durable: expiry > 0, exclusive: expiry === 0, autoDelete: false, arguments: args, exclusiveOwner: expiry === 0 ? this.settings.connectionId : undefined });
    return this.broker.queue(name)!;
  }

  private startConsumer(qos: 0 | 1, queue: Queue): void {
    if (this.consumers[qos]) return;
    const consumer = new SessionConsumer(this, queue, qos === 0);
    this.consumers[qos] = consumer;
    const started = this.broker.consume(queue, consumer);
    if (started) started.catch(() => this.queueGone(consumer));
  }

  private refreshMatching(): void {
    this.matchPerMessage = false;
    for (const s of this.subscriptions.values()) if (s.noLocal || s.id !== undefined || s.retainAsPublished) this.matchPerMessage = true;
  }

  canTake(noAck: boolean): boolean {
    if (this.writer.congested) return false;
    return noAck || this.inflight.size < this.settings.prefetch;
  }

  deliver(consumer: SessionConsumer, queue: Queue, entry: QueuedMessage): void {
    const m = entry.message;
    const qos: 0 | 1 = consumer.noAck ? 0 : messageQos(m);
    // A message delivered at QoS 0 from the QoS 1 queue is settled at once; QoS 0 skips redeliveries.
    if (qos === 0 && !consumer.noAck) {
      this.broker.ack(queue, entry);
      if (entry.redelivered) return;
    }
    const topic = amqpToMqtt(m.routingKey);
    let properties: MqttPublishProperties & { subscriptionIdentifier?: number | number[] } | undefined;
    let retain = false;
    if (this.settings.version === 5) {
      properties = toMqttProperties(m);
      // An MQTT publisher's Message-Expiry-Interval is forwarded minus the time spent in the broker.
      if (entry.expiresAtMs !== Infinity && this.marks.publisher.has(m)) {
        properties = { ...properties, messageExpiryInterval: Math.max(1, Math.ceil((entry.expiresAtMs - Date.now()) / 1000)) };
      }
      if (this.matchPerMessage) {
        const own = this.marks.publisher.get(m) === this;
        let ids: number[] | undefined;
        let wanted = false;
        for (const [filter, s] of this.subscriptions) {
          if (s.qos !== (consumer.noAck ? 0 : 1) || !topicMatches(filter, topic)) continue;
          if (s.noLocal && own) continue;
          wanted = true;
          if (s.id !== undefined) (ids ??= []).push(s.id);
          if (s.retainAsPublished && this.marks.retained.has(m)) retain = true;
        }
        if (!wanted && own) {
          if (qos === 1) this.broker.ack(queue, entry);
          return;
        }
        if (ids) properties = { ...properties, subscriptionIdentifier: ids.length === 1 ? ids[0] : ids };
      }
    }
    const packet: IPublishPacket = { cmd: 'publish', topic, payload: m.body, qos, dup: entry.redelivered && qos === 1, retain, properties };
    if (qos === 1) {
      packet.messageId = this.allocatePacketId();
      this.inflight.set(packet.messageId, { queue, entry });
    }
    if (!this.writer.send(packet, this.settings.maxPacketBytes) && qos === 1) {
      // Too big for the client: dropped, as RabbitMQ does.
      this.inflight.delete(packet.messageId!);
      this.broker.ack(queue, entry);
    }
  }

  /** Sends the retained message of `filter` after a SUBACK, at min(stored, granted) QoS with RETAIN=1. */
  sendRetained(message: RetainedMessage, granted: 0 | 1): void {
    const qos = Math.min(message.qos, granted) as 0 | 1;
    const properties: MqttPublishProperties | undefined = this.settings.version === 5 ? withRemainingExpiry(message) : undefined;
    const packet: IPublishPacket = { cmd: 'publish', topic: message.topic, payload: message.payload, qos, dup: false, retain: true, properties };
    if (qos === 1) {
      packet.messageId = this.allocatePacketId();
      this.inflight.set(packet.messageId, { queue: undefined, entry: undefined });
    }
    this.writer.send(packet, this.settings.maxPacketBytes);
  }

  private allocatePacketId(): number {
    // Packet IDs run 1..65535 and wrap, skipping those still in flight.
    for (;;) {
      const id = this.nextPacketId;
      this.nextPacketId = id === 65535 ? 1 : id + 1;
      if (!this.inflight.has(id)) return id;
    }
  }

  /** PUBACK from the client: a reason code below 0x80 acks, otherwise the message is discarded. */
  puback(packetId: number, reasonCode: number | undefined): void {
    const f = this.inflight.get(packetId);
    if (!f) return;
    this.inflight.delete(packetId);
    if (!f.queue || !f.entry) return;
    if (reasonCode !== undefined && reasonCode >= 0x80) this.broker.reject(f.queue, f.entry);
    else this.broker.ack(f.queue, f.entry);
  }

  /** The socket drained: both queues may deliver again. */
  resumeDeliveries(): void {
    for (const c of this.consumers) if (c) this.broker.drain(c.queue);
  }

  queueGone(consumer: SessionConsumer): void {
    if (this.consumers[0] === consumer) this.consumers[0] = undefined;
    if (this.consumers[1] === consumer) this.consumers[1] = undefined;
    this.onQueueGone?.();
  }

  /** The connection ended: consumers stop, unacked deliveries go back to their queues, a session without expiry is deleted. */
  async end(): Promise<void> {
    const consumers = this.consumers.filter((c) => c !== undefined);
    this.consumers[0] = this.consumers[1] = undefined;
    for (const c of consumers) await this.broker.cancel(c.queue, c);
    const byQueue = new Map<Queue, QueuedMessage[]>();
    for (const f of this.inflight.values()) {
      if (!f.queue || !f.entry) continue;
      const list = byQueue.get(f.queue);
      if (list) list.push(f.entry);
      else byQueue.set(f.queue, [f.entry]);
    }
    this.inflight.clear();
    for (const [queue, entries] of byQueue) this.broker.requeue(queue, entries);
    if (this.settings.expirySeconds === 0) await this.discardStored();
  }
}

function optionsFromBinding(qos: 0 | 1, args: FieldTable): SubscriptionOptions {
  const opts = args['x-mqtt-subscription-opts'];
  if (!opts || typeof opts !== 'object' || Array.isArray(opts) || Buffer.isBuffer(opts)) {
    return { qos, noLocal: false, retainAsPublished: false, retainHandling: 0, id: undefined, args };
  }
  const t = opts as FieldTable;
  return {
    qos,
    noLocal: t['no-local'] === true,
    retainAsPublished: t['retain-as-published'] === true,
    retainHandling: Number(t['retain-handling'] ?? 0),
    id: t.id === undefined ? undefined : Number(t.id),
    args,
  };
}

function withRemainingExpiry(m: RetainedMessage): MqttPublishProperties | undefined {
  if (m.expiresAtMs === Infinity) return m.properties;
  return { ...m.properties, messageExpiryInterval: Math.max(0, Math.ceil((m.expiresAtMs - Date.now()) / 1000)) };
}
