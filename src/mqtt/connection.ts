import type { Duplex } from 'node:stream';
import { parser as createParser, type IConnectPacket, type IPublishPacket, type ISubscribePacket, type IUnsubscribePacket, type Packet } from 'mqtt-packet';
import { AmqpError } from '../broker/errors';
import type { Logger } from '../log/logger';
import { BrokerSession, type DurableSettler } from '../adapter/broker-session';
import { streamEnds, type ConnectionListing, type ListedConnection } from '../adapter/listed-connection';
import type { TakeoverTarget } from './client-registry';
import { CONNACK, login, type ConnackCause } from './connect';
import type { MqttContext } from './context';
import { toAmqpMessage, type MqttPublishProperties } from './message-mapping';
import { PacketWriter } from './packet-writer';
import { MqttSession, type PublishMarks } from './session';
import { amqpToMqtt, mqttToAmqp } from './topic';
import { SerialInbox } from '../adapter/serial-inbox';

/** Largest CONNECT before login, and largest packet after (mqtt.max_packet_size_*). */
const MAX_UNAUTHENTICATED_BYTES = 65_536;
const MAX_PACKET_BYTES = 16 * 1024 * 1024;
const LOGIN_TIMEOUT_MS = 10_000;
/** Inbound topic aliases accepted (mqtt.topic_alias_maximum). */
const TOPIC_ALIAS_MAXIMUM = 16;
/** Packets queued behind a SUBSCRIBE (or CONNECT) in progress before the socket stops being read. */
const MAX_QUEUED_PACKETS = 1000;

const marks: PublishMarks = { retained: new WeakSet(), publisher: new WeakMap() };
let connectionCounter = 0;

type State = 'awaiting-connect' | 'connecting' | 'open' | 'closed';

/** What CONNECT left to do when the connection ends. */
interface Will {
  topic: string;
  payload: Buffer;
  qos: 0 | 1;
  retain: boolean;
  properties: MqttPublishProperties | undefined;
  delaySeconds: number;
}

/**
 * One MQTT 3.1, 3.1.1 or 5.0 connection over any duplex stream (a TCP socket, or a WebSocket
 * stream for Web-MQTT). Packets are handled in order: while an asynchronous one (CONNECT,
 * SUBSCRIBE, UNSUBSCRIBE) waits for the metadata store, later packets queue behind it.
 */
export class MqttConnection implements TakeoverTarget, DurableSettler, ListedConnection {
  readonly id: string;
  private readonly connectedAtMs = Date.now();
  private readonly parser = createParser();
  private readonly writer: PacketWriter;
  private readonly log: Logger;
  private state: State = 'awaiting-connect';
  private version: 3 | 4 | 5 = 4;
  private broker: BrokerSession | undefined;
  private session: MqttSession | undefined;
  private vhost = '';
  private clientId = '';
  private user = '';
  private will: Will | undefined;
  private normalDisconnect = false;
  private readonly inbox: SerialInbox<Packet>;
  private bytesRead = 0;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private loginTimer: NodeJS.Timeout | undefined;
  private readonly aliases = new Map<number, string>();
  /** QoS 1 publishes whose PUBACK waits for the message store's fsync. */
  private readonly awaitingPuback = new Set<number>();
  private readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    private readonly socket: Duplex,
    private readonly remoteAddress: string | undefined,
    private readonly ctx: MqttContext,
    private readonly onClosed: (c: MqttConnection) => void,
  ) {
    this.id = `${ctx.nodeName}/mqtt-${++connectionCounter}`;
    this.log = ctx.log.child({ connection: this.id });
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.writer = new PacketWriter(socket, () => this.session?.resumeDeliveries());
    this.inbox = new SerialInbox<Packet>(socket, MAX_QUEUED_PACKETS, {
      handle: (p) => this.handle(p),
      failed: (_p, err) => this.failed(err),
      isClosed: () => this.state === 'closed',
    });
    this.parser.on('packet', (p: Packet) => this.inbox.push(p));
    this.parser.on('error', (err: Error) => this.protocolError(`malformed packet: ${err.message}`));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => void this.teardown());
    this.loginTimer = setTimeout(() => socket.destroy(), LOGIN_TIMEOUT_MS);
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.bytesRead += chunk.length;
    try {
      this.parser.parse(chunk);
    } catch (err) {
      // Whatever the codec could not take ends this connection only, never the broker.
      this.log.warn({ err }, 'MQTT packet parser failed');
      return this.protocolError('unparsable input');
    }
    const announced = (this.parser as unknown as { packet: { length: number } }).packet.length;
    const limit = this.state === 'awaiting-connect' ? MAX_UNAUTHENTICATED_BYTES : MAX_PACKET_BYTES;
    if (announced > limit) this.disconnect(0x95, `packet of ${announced} bytes over the limit`);
  }

  private failed(err: unknown): void {
    if (err instanceof AmqpError && err.replyCode === 403) return this.disconnect(0x87, err.message);
    this.log.warn({ err }, 'MQTT packet failed; closing');
    this.disconnect(0x83, 'implementation specific error');
  }

  private handle(p: Packet): Promise<void> | void {
    if (this.state === 'awaiting-connect') {
      if (p.cmd !== 'connect') return this.protocolError(`first packet was ${p.cmd}, not CONNECT`);
      return this.connect(p);
    }
    switch (p.cmd) {
      case 'publish':
        return this.publish(p);
      case 'puback':
        this.session?.puback(p.messageId!, p.reasonCode);
        return;
      case 'subscribe':
        return this.subscribe(p);
      case 'unsubscribe':
        return this.unsubscribe(p);
      case 'pingreq':
        this.writer.send({ cmd: 'pingresp' });
        return;
      case 'disconnect': {
        // mqtt 5: a DISCONNECT with a reason code other than 0 still publishes the Will.
        this.normalDisconnect = (p.reasonCode ?? 0) === 0;
        const expiry = p.properties?.sessionExpiryInterval;
        if (expiry !== undefined && this.session) {
          // mqtt 5: a session that began with expiry 0 cannot be given one at DISCONNECT.
          if (this.session.settings.expirySeconds === 0 && expiry > 0) return this.disconnect(0x82, 'session expiry set at DISCONNECT after 0 at CONNECT');
          // Ending it now (0) deletes its queues; another value keeps the x-expires set at declare.
          if (expiry === 0) this.session.settings.expirySeconds = 0;
        }
        this.socket.end();
        this.state = 'closed';
        return;
      }
      case 'pubrec':
      case 'pubrel':
      case 'pubcomp':
        // QoS 2 is never granted, so these have nothing to complete.
        return;
      default:
        return this.protocolError(`unexpected ${p.cmd}`);
    }
  }

  private async connect(p: IConnectPacket): Promise<void> {
    clearTimeout(this.loginTimer);
    this.state = 'connecting';
    this.version = (p.protocolVersion ?? 4) as 3 | 4 | 5;
    this.writer.protocolVersion = this.version;
    const l = login(this.ctx, p, this.remoteAddress);
    if (!l.ok) return this.refuse(l.cause);
    const broker = new BrokerSession(this.ctx.metadata, this.ctx.broker.vhost(l.vhost)!, this.id, this, this.ctx.broker, l.user);
    if (!broker.hasExchange(this.ctx.options.exchange)) return this.refuse('unavailable');
    this.vhost = l.vhost;
    this.clientId = l.clientId;
    this.user = l.user;
    await this.ctx.clients.claim(l.vhost, l.clientId, this);
    if (this.isClosed()) {
      this.ctx.clients.release(l.vhost, l.clientId, this);
      return;
    }
    this.broker = broker;
    const receiveMaximum = p.properties?.receiveMaximum ?? 65535;
    this.session = new MqttSession(
      {
        clientId: l.clientId,
        version: this.version,
        exchange: this.ctx.options.exchange,
        expirySeconds: l.expirySeconds,
        prefetch: Math.min(this.ctx.options.prefetch, receiveMaximum),
        maxPacketBytes: p.properties?.maximumPacketSize ?? Infinity,
        connectionId: this.id,
      },
      this.broker,
      this.writer,
      marks,
    );
    this.session.onQueueGone = () => this.disconnect(0x8b, 'session queue deleted');
    let sessionPresent = false;
    if (p.clean !== false) await this.session.discardStored();
    else sessionPresent = this.session.resume();
    if (p.will) {
      const w = p.will;
      this.will = {
        topic: w.topic,
        payload: Buffer.isBuffer(w.payload) ? w.payload : Buffer.from(w.payload),
        qos: (w.qos ?? 0) >= 1 ? 1 : 0,
        retain: w.retain === true,
        properties: w.properties,
        delaySeconds: Math.min(w.properties?.willDelayInterval ?? 0, l.expirySeconds),
      };
    }
    this.startKeepalive(p.keepalive ?? 0);
    if (this.isClosed()) return;
    this.state = 'open';
    const properties: Record<string, unknown> | undefined =
      this.version === 5
        ? {
            maximumQoS: 1,
            topicAliasMaximum: TOPIC_ALIAS_MAXIMUM,
            maximumPacketSize: MAX_PACKET_BYTES,
            sharedSubscriptionAvailable: false,
            sessionExpiryInterval: l.expirySeconds,
            ...(l.clientIdAssigned ? { assignedClientIdentifier: l.clientId } : {}),
          }
        : undefined;
    this.writer.send({ cmd: 'connack', sessionPresent, returnCode: 0, reasonCode: 0, properties });
    if (sessionPresent) this.session.startStored();
  }

  /** Read through a method: the state changes while CONNECT awaits. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private refuse(cause: ConnackCause): void {
    const [v5, v3] = CONNACK[cause];
    this.writer.send({ cmd: 'connack', sessionPresent: false, returnCode: v3, reasonCode: v5 });
    this.state = 'closed';
    this.writer.end();
  }

  private publish(p: IPublishPacket): void {
    if (p.qos === 2 && this.version === 5) return this.disconnect(0x9b, 'QoS 2 is not supported');
    let topic = p.topic;
    const alias = p.properties?.topicAlias;
    if (alias !== undefined) {
      if (alias < 1 || alias > TOPIC_ALIAS_MAXIMUM) return this.disconnect(0x94, 'topic alias invalid');
      if (topic === '') {
        const known = this.aliases.get(alias);
        if (known === undefined) return this.disconnect(0x82, 'unknown topic alias');
        topic = known;
      } else this.aliases.set(alias, topic);
    }
    const qos: 0 | 1 = p.qos === 0 ? 0 : 1;
    const id = p.messageId ?? 0;
    // A re-sent packet whose first copy is still waiting for the disk is ignored.
    if (qos === 1 && this.awaitingPuback.has(id)) return;
    const payload = Buffer.isBuffer(p.payload) ? p.payload : Buffer.from(p.payload);
    const props = this.version === 5 ? p.properties : undefined;
    const message = toAmqpMessage(this.ctx.options.exchange, topic, qos, payload, props);
    if (this.version === 5) marks.publisher.set(message, this.session!);
    if (p.retain) marks.retained.add(message);
    const outcome = this.broker!.publish(message, qos === 1 ? id : undefined);
    // Kept only once the publish was allowed (publish throws when it is not).
    if (p.retain) this.retain(topic, payload, qos, props);
    this.broker!.throttle(this.socket);
    if (qos === 0) return;
    switch (outcome) {
      case 'accepted':
        return this.puback(id, 0);
      case 'unroutable':
        return this.puback(id, 0x10);
      case 'rejected':
        // RabbitMQ: MQTT 3.1.1 gets no PUBACK for a rejected publish.
        if (this.version === 5) this.puback(id, 0x97);
        return;
      case 'pending':
        this.awaitingPuback.add(id);
    }
  }

  settleDurable(token: number, accepted: boolean): void {
    if (!this.awaitingPuback.delete(token) || this.state === 'closed') return;
    if (accepted) this.puback(token, 0);
    else if (this.version === 5) this.puback(token, 0x97);
  }

  private puback(messageId: number, reasonCode: number): void {
    this.writer.send({ cmd: 'puback', messageId, reasonCode: this.version === 5 ? reasonCode : undefined });
  }

  private retain(topic: string, payload: Buffer, qos: 0 | 1, props: MqttPublishProperties | undefined): void {
    const expiry = props?.messageExpiryInterval;
    const properties = props ? { ...props, topicAlias: undefined } : undefined;
    const stored = this.ctx.retained.put(this.vhost, {
      topic: amqpToMqtt(mqttToAmqp(topic)),
      payload,
      qos,
      properties,
      expiresAtMs: expiry === undefined ? Infinity : Date.now() + expiry * 1000,
    });
    if (!stored) this.log.warn({ topic }, 'retained message store full; message not retained');
  }

  private async subscribe(p: ISubscribePacket): Promise<void> {
    const session = this.session!;
    const id = p.properties?.subscriptionIdentifier;
    const granted: number[] = [];
    let refused: string | undefined;
    const retained: { topic: string; qos: 0 | 1; rh: number; isNew: boolean }[] = [];
    for (const s of p.subscriptions) {
      try {
        const r = await session.subscribe(s.topic, s, id);
        granted.push(r.granted);
        retained.push({ topic: s.topic, qos: r.granted, rh: s.rh ?? 0, isNew: r.isNew });
      } catch (err) {
        // RabbitMQ (disconnect_on_unauthorized): SUBACK with the failure, then the connection closes.
        if (err instanceof AmqpError && err.replyCode === 403) refused = err.message;
        else this.log.warn({ err, filter: s.topic }, 'MQTT subscribe failed');
        granted.push(this.version === 5 && refused !== undefined ? 0x87 : 0x80);
      }
    }
    if (this.state === 'closed') return;
    this.writer.send({ cmd: 'suback', messageId: p.messageId, granted });
    if (refused !== undefined) return this.disconnect(0x87, refused);
    for (const r of retained) {
      // mqtt 5 Retain Handling: 0 send, 1 only for a new subscription, 2 never.
      if (r.rh === 2 || (r.rh === 1 && !r.isNew)) continue;
      const m = this.ctx.retained.get(this.vhost, amqpToMqtt(mqttToAmqp(r.topic)));
      if (m) session.sendRetained(m, r.qos);
    }
  }

  private async unsubscribe(p: IUnsubscribePacket): Promise<void> {
    const codes: number[] = [];
    for (const filter of p.unsubscriptions) codes.push((await this.session!.unsubscribe(filter)) ? 0x00 : 0x11);
    if (this.state === 'closed') return;
    this.writer.send({ cmd: 'unsuback', messageId: p.messageId, granted: this.version === 5 ? codes : [] });
  }

  private startKeepalive(seconds: number): void {
    if (seconds <= 0) return;
    // RabbitMQ samples the bytes received every 0.75 × keepalive; two silent samples close (≈ 1.5 × keepalive).
    let lastSeen = this.bytesRead;
    let silent = 0;
    this.keepaliveTimer = setInterval(() => {
      if (this.bytesRead !== lastSeen) {
        lastSeen = this.bytesRead;
        silent = 0;
        return;
      }
      if (++silent >= 2) this.disconnect(0x8d, 'keepalive timeout');
    }, seconds * 750);
  }

  /** Closes with a DISCONNECT carrying `reasonCode` for MQTT 5 clients (MQTT 3 clients are simply closed). */
  disconnect(reasonCode: number, why: string): void {
    if (this.state === 'closed') return;
    this.log.debug({ reasonCode, why }, 'closing MQTT connection');
    if (this.version === 5 && this.state === 'open') this.writer.send({ cmd: 'disconnect', reasonCode });
    this.state = 'closed';
    this.writer.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private protocolError(why: string): void {
    this.log.debug({ why }, 'MQTT protocol error');
    this.state = 'closed';
    this.writer.close();
    this.socket.destroy();
  }

  takeover(): Promise<void> {
    this.disconnect(0x8e, 'session taken over');
    this.socket.destroy();
    return this.closed;
  }

  /** Closes the connection at broker shutdown. */
  shutdown(): void {
    this.disconnect(0x8b, 'server shutting down');
  }

  listing(): ConnectionListing | undefined {
    if (this.state !== 'open') return undefined;
    const version = this.version === 5 ? '5.0' : this.version === 4 ? '3.1.1' : '3.1';
    return {
      protocol: `MQTT ${version}`,
      user: this.user,
      vhost: this.vhost,
      connectedAtMs: this.connectedAtMs,
      clientProperties: { client_id: this.clientId, product: 'MQTT client' },
      ...streamEnds(this.socket, this.remoteAddress),
    };
  }

  /** An operator closed it: MQTT 5 clients get DISCONNECT "administrative action" (0x98). */
  forceClose(reason: string): void {
    this.disconnect(0x98, reason);
  }

  private async teardown(): Promise<void> {
    this.state = 'closed';
    clearTimeout(this.loginTimer);
    clearInterval(this.keepaliveTimer);
    this.writer.close();
    this.inbox.clear();
    try {
      if (this.session && this.will && !this.normalDisconnect) this.publishWill(this.will);
      if (this.session) await this.session.end();
    } catch (err) {
      this.log.warn({ err }, 'MQTT session cleanup failed');
    } finally {
      this.broker?.close();
      if (this.clientId !== '') this.ctx.clients.release(this.vhost, this.clientId, this);
      this.onClosed(this);
      this.resolveClosed();
    }
  }

  private publishWill(will: Will): void {
    const publish = () => {
      const vhost = this.ctx.broker.vhost(this.vhost);
      if (!vhost) return;
      const message = toAmqpMessage(this.ctx.options.exchange, will.topic, will.qos, will.payload, will.properties);
      try {
        new BrokerSession(this.ctx.metadata, vhost, this.id, { settleDurable: () => undefined }, this.ctx.broker, this.user).publish(message, undefined);
      } catch (err) {
        // Not allowed (or the exchange is gone): the will is dropped, as any refused publish.
        this.log.info({ err: (err as Error).message }, 'MQTT will not published');
        return;
      }
      if (will.retain) this.retain(will.topic, will.payload, will.qos, will.properties);
    };
    if (will.delaySeconds > 0) this.ctx.clients.delayWill(this.vhost, this.clientId, will.delaySeconds * 1000, publish);
    else publish();
  }
}
