/**
 * The NodeSource of this node: reads the local broker model and the open AMQP connections.
 * This is the one file that reaches into queues, connections and channels; when the queue
 * core changes (clustered queues), only this adapter follows.
 */
import { availableParallelism } from 'node:os';
import type { ListedConnection } from '../adapter/listed-connection';
import type { Connection } from '../amqp/connection';
import { DEFAULT_CONSUMER_TIMEOUT_MS, queueConsumerTimeoutMs } from '../amqp/consumer-timeout';
import type { ResourceAlarms } from '../broker/alarms';
import type { Broker } from '../broker/broker';
import { NotFound } from '../broker/errors';
import { Message } from '../broker/message';
import { COUNTER_FIELDS, MessageCounters } from '../broker/message-stats';
import { matchingPolicy, queuePolicyKind, type Policy } from '../broker/policy';
import { encodeProperties } from '../broker/queue/dead-letter';
import { Queue } from '../broker/queue/queue';
import type { QueueCounts, QueueHandle, QueuedMessage } from '../broker/ports';
import type { FetchedMessage, GetOptions, NodeSource, NodeTotals, PublishRequest, Row } from './broker-view';
import { jsonToProperties, tableToJson } from './json-values';
import { amqpChannelRow, amqpConnectionRow, connectionName, stripMapped } from './amqp-connection-rows';
import { fetched } from './fetched-message';
import { listed, listingName, protocolConnectionRow } from './protocol-connections';
import { diskFree, exchangeTypes, fdCounts } from './node-info';
import { RateSampler } from './rates';
import { StatsHistory } from './stats-history';
import { LocalHistories, type HistoryBounds } from './local-histories';
import type { SampledKind, SampleWindows } from './object-history';

export interface LocalNodeOptions {
  broker: Broker;
  connections: () => Iterable<Connection>;
  /** Logged-in connections of the other protocols (MQTT, STOMP), listed beside AMQP's. */
  protocolConnections?: () => Iterable<ListedConnection>;
  nodeName: string;
  startedAtMs: number;
  alarms: ResourceAlarms | undefined;
  memoryLimitBytes: number;
  diskFreeLimitBytes: number;
  dataDir: string;
  listeners: Row[];
  /** Chart history of queues, exchanges, vhosts, connections and channels: ticks kept, most rings at once. */
  history: HistoryBounds;
  /** List queues homed on other nodes too (through their handles), when no peer sources answer for them. */
  includeRemoteQueues: boolean;
  /** management.disable_stats: a tick refreshes only the queue totals and churn, no rates or history. */
  disableStats?: boolean;
}

export class LocalNodeSource implements NodeSource {
  readonly rates = new RateSampler();
  readonly history = new StatsHistory();
  private readonly histories: LocalHistories;
  /** Node-wide totals, summed from the vhosts' counters at each sample. */
  private readonly nodeTotals = new MessageCounters();
  private readonly vhostTotals = new Map<string, MessageCounters>();

  /** Ready and unacknowledged messages per vhost at the last tick (see sample). */
  private sampledLengths = new Map<string, { ready: number; unacked: number }>();

  private churnAt = { atMs: Date.now(), values: [] as number[], rates: [] as number[] };

  constructor(private readonly o: LocalNodeOptions) {
    this.histories = new LocalHistories(o.history);
  }

  get nodeName(): string {
    return this.o.nodeName;
  }

  /**
   * One sampling tick: rates of every counted object, a point of the overview history, the
   * chart history of queues, exchanges, vhosts, connections, channels and the node, and the
   * overview's ready and unacknowledged totals, in one pass over the queues. With statistics
   * disabled only the totals and churn are taken.
   */
  sample(nowMs: number): void {
    const stats = !this.o.disableStats;
    if (stats) {
      for (const f of COUNTER_FIELDS) this.nodeTotals[f] = 0;
      this.histories.beginTick(nowMs);
    }
    let ready = 0;
    let unacked = 0;
    const lengths = new Map<string, { ready: number; unacked: number }>();
    const pending: Promise<void>[] = [];
    for (const v of this.o.broker.vhosts.values()) {
      if (stats) {
        this.rates.sample(v.stats, nowMs);
        for (const f of COUNTER_FIELDS) this.nodeTotals[f] += v.stats[f];
      }
      const t = { ready: 0, unacked: 0 };
      lengths.set(v.name, t);
      for (const q of v.queues.values()) {
        if (q instanceof Queue) {
          if (stats) {
            this.rates.sample(q.stats, nowMs);
            this.histories.queue(q, v.name, q.stats, q.messageCount, q.unackedCount);
          }
          ready += q.messageCount;
          unacked += q.unackedCount;
          t.ready += q.messageCount;
          t.unacked += q.unackedCount;
        } else if (q.isLocal || this.o.includeRemoteQueues) {
          countInto(t, q, pending);
        }
      }
      if (!stats) continue;
      for (const e of v.exchanges.values()) {
        this.rates.sample(e.stats, nowMs);
        this.histories.exchange(e);
      }
    }
    // Handles that answer asynchronously (quorum, remote): the new totals replace the old once all have answered.
    if (pending.length === 0) this.sampledLengths = lengths;
    else void Promise.all(pending).then(() => (this.sampledLengths = lengths));
    this.sampleChurn(nowMs);
    if (!stats) return;
    let sockets = 0;
    for (const c of this.o.connections()) {
      sockets++;
      for (const ch of c.channels.values()) this.rates.sample(ch.stats, nowMs);
      if (c.state !== 'header' && c.state !== 'closed') this.histories.connection(c);
    }
    const others = this.otherConnections();
    for (const { c, l } of others) this.histories.listedConnection(c, l.vhost, l.recvBytes, l.sendBytes);
    this.histories.nodeFigures(this.o.broker.churn, sockets + others.length, this.o.dataDir);
    this.histories.endTick(this.o.broker.vhosts.values());
    this.rates.sample(this.nodeTotals, nowMs);
    this.history.add(nowMs, this.rates, this.nodeTotals, ready, unacked);
  }

  /**
   * The overview's totals, without a walk over the queues: ready and unacknowledged counts are
   * those of the last sampling tick (RabbitMQ's overview lags by up to one
   * collect_statistics_interval too); queue and connection counts are current.
   */
  async totals(): Promise<NodeTotals> {
    const byVhost: NodeTotals['byVhost'] = {};
    for (const v of this.o.broker.vhosts.values()) {
      const sampled = this.sampledLengths.get(v.name);
      byVhost[v.name] = { queues: this.queueCount(v.queues), ready: sampled?.ready ?? 0, unacked: sampled?.unacked ?? 0 };
    }
    let connections = this.otherConnections().length;
    let channels = 0;
    let consumers = 0;
    for (const c of this.o.connections()) {
      if (c.state === 'header' || c.state === 'closed') continue;
      connections++;
      // Most connections of a large fleet hold no channel: no iterator for them.
      if (c.channels.size === 0) continue;
      for (const ch of c.channels.values()) {
        if (ch.state !== 'open') continue;
        channels++;
        consumers += ch.consumers.size;
      }
    }
    return { byVhost, connections, channels, consumers };
  }

  /** Queues a vhost counts on this node: all of them, or (with peer sources) those homed here. */
  private queueCount(queues: Map<string, QueueHandle>): number {
    if (this.o.includeRemoteQueues) return queues.size;
    let n = 0;
    for (const q of queues.values()) if (q.isLocal) n++;
    return n;
  }

  private sampleChurn(nowMs: number): void {
    const values = CHURN_FIELDS.map(([f]) => this.o.broker.churn[f]);
    const dt = (nowMs - this.churnAt.atMs) / 1000;
    const rates = this.churnAt.values.length === 0 || dt <= 0 ? values.map(() => 0) : values.map((v, i) => Math.max(0, (v - this.churnAt.values[i]) / dt));
    this.churnAt = { atMs: nowMs, values, rates };
  }

  async churn(): Promise<Row> {
    const out: Row = {};
    CHURN_FIELDS.forEach(([f, name], i) => {
      out[name] = this.o.broker.churn[f];
      out[`${name}_details`] = { rate: Math.round((this.churnAt.rates[i] ?? 0) * 10) / 10 };
    });
    return out;
  }

  async node(): Promise<Row> {
    const mem = process.memoryUsage();
    const alarms = this.o.alarms?.active;
    const uptime = Date.now() - this.o.startedAtMs;
    let connections = this.otherConnections().length;
    for (const _ of this.o.connections()) connections++;
    const fds = fdCounts();
    return {
      name: this.o.nodeName,
      type: 'disc',
      running: true,
      being_drained: false,
      os_pid: String(process.pid),
      uptime,
      processors: availableParallelism(),
      run_queue: 0,
      rates_mode: 'basic',
      mem_used: mem.rss,
      mem_limit: this.o.memoryLimitBytes,
      mem_alarm: alarms?.has('memory') ?? false,
      mem_calculation_strategy: 'rss',
      disk_free: diskFree(this.o.dataDir),
      disk_free_limit: this.o.diskFreeLimitBytes,
      disk_free_alarm: alarms?.has('disk') ?? false,
      fd_used: fds.used,
      fd_total: fds.total,
      sockets_used: connections,
      sockets_total: fds.total,
      proc_used: 1,
      proc_total: 1,
      net_ticktime: 60,
      partitions: [],
      applications: [{ name: 'warren', description: 'Warren message broker', version: process.env.npm_package_version ?? '0.1.0' }],
      exchange_types: exchangeTypes(),
      auth_mechanisms: [
        { name: 'PLAIN', description: 'SASL PLAIN authentication mechanism', enabled: true },
        { name: 'AMQPLAIN', description: 'QPid AMQPLAIN mechanism', enabled: true },
      ],
      enabled_plugins: ['rabbitmq_management', 'rabbitmq_prometheus'],
      contexts: [{ description: 'RabbitMQ Management', path: '/', port: String(this.o.listeners.find((l) => l.protocol === 'http')?.port ?? '') }],
      listeners: this.o.listeners,
      runtime: `Node.js ${process.version}`,
      db_dir: this.o.dataDir,
      cluster_links: [],
      ...(await this.churn()),
    };
  }

  /**
   * Queues homed here; with `includeRemoteQueues`, also those homed on other nodes, with the
   * counts their homes give through the queue handles (no message_stats: the home has them).
   * With `homedOn`, only the queues homed on that other node, through their handles (what is
   * shown for a node that does not answer: its queues, down).
   */
  async queues(vhostName: string | undefined, only?: Set<string>, homedOn?: string): Promise<Row[]> {
    const rows: (Row | Promise<Row>)[] = [];
    for (const v of this.o.broker.vhosts.values()) {
      if (vhostName !== undefined && v.name !== vhostName) continue;
      const candidates = only ? [...only].filter((k) => k.startsWith(`${v.name}\u0000`)).map((k) => v.queues.get(k.slice(v.name.length + 1))) : v.queues.values();
      for (const q of candidates) {
        if (!q || (homedOn === undefined && !q.isLocal && !this.o.includeRemoteQueues)) continue;
        if (homedOn !== undefined && (q.isLocal || q.def.ownerNode !== homedOn)) continue;
        let counts: QueueCounts | Promise<QueueCounts>;
        try {
          q.checkAvailable();
          counts = q.counts();
        } catch {
          rows.push(this.queueRow(q, v.policies.values(), NO_COUNTS, 'down'));
          continue;
        }
        // Local queues answer at once; only a remote home's answer is awaited.
        if (counts instanceof Promise) {
          rows.push(counts.then((c) => this.queueRow(q, v.policies.values(), c, 'running'), () => this.queueRow(q, v.policies.values(), NO_COUNTS, 'down')));
        } else {
          rows.push(this.queueRow(q, v.policies.values(), counts, 'running'));
        }
      }
    }
    return Promise.all(rows);
  }

  private queueRow(q: QueueHandle, policies: Iterable<Policy>, counts: QueueCounts, state: string): Row {
    const policy = matchingPolicy(policies, queuePolicyKind(q.def.arguments), q.name);
    const ready = counts.messageCount;
    const unacked = counts.unackedCount;
    const row: Row = {
      name: q.name,
      vhost: q.vhost,
      type: 'classic',
      durable: q.def.durable,
      auto_delete: q.def.autoDelete,
      exclusive: q.def.exclusive,
      arguments: tableToJson(q.def.arguments),
      node: q.def.ownerNode ?? this.o.nodeName,
      state,
      policy: policy?.name ?? null,
      operator_policy: null,
      effective_policy_definition: policy?.definition ?? {},
      messages: ready + unacked,
      messages_details: { rate: 0 },
      messages_ready: ready,
      messages_ready_details: { rate: 0 },
      messages_unacknowledged: unacked,
      messages_unacknowledged_details: { rate: 0 },
      message_bytes: counts.messageBytes,
      message_bytes_ready: counts.messageBytes,
      message_bytes_unacknowledged: 0,
      message_bytes_ram: counts.messageBytes,
      message_bytes_persistent: 0,
      message_bytes_paged_out: 0,
      messages_ram: ready + unacked,
      messages_ready_ram: ready,
      messages_unacknowledged_ram: unacked,
      messages_persistent: 0,
      messages_paged_out: 0,
      backing_queue_status: { mode: 'default', version: 2, len: ready },
      garbage_collection: {},
      reductions_details: { rate: 0 },
      recoverable_slaves: null,
      consumers: counts.consumerCount,
      consumer_capacity: counts.consumerCount > 0 ? 1 : 0,
      consumer_utilisation: counts.consumerCount > 0 ? 1 : 0,
      exclusive_consumer_tag: null,
      single_active_consumer_tag: null,
      head_message_timestamp: null,
      message_stats: q instanceof Queue ? this.rates.messageStats(q.stats, 'queue') : {},
      reductions: 0,
      memory: 0,
    };
    if (q.def.exclusive && q.def.exclusiveOwner) {
      const owner = this.findConnection((c) => c.id === q.def.exclusiveOwner);
      if (owner) row.owner_pid_details = { name: connectionName(owner), peer_host: owner.socket.remoteAddress, peer_port: owner.socket.remotePort };
    }
    return row;
  }

  async connections(): Promise<Row[]> {
    const out: Row[] = [];
    for (const c of this.o.connections()) if (c.state !== 'header' && c.state !== 'closed') out.push(amqpConnectionRow(c, this.o.nodeName, this.histories.dataRates(c, 'connection')));
    for (const { c, l } of this.otherConnections()) out.push(protocolConnectionRow(l, this.o.nodeName, this.histories.dataRates(c, 'connection')));
    return out;
  }

  private otherConnections(): ReturnType<typeof listed> {
    return this.o.protocolConnections ? listed(this.o.protocolConnections()) : [];
  }

  async channels(): Promise<Row[]> {
    const out: Row[] = [];
    for (const c of this.o.connections()) for (const ch of c.channels.values()) if (ch.state === 'open') out.push(amqpChannelRow(c, ch, this.o.nodeName, this.rates));
    return out;
  }

  async consumers(): Promise<Row[]> {
    const out: Row[] = [];
    for (const c of this.o.connections()) {
      const name = connectionName(c);
      for (const ch of c.channels.values()) {
        for (const consumer of ch.consumers.values()) {
          const q = consumer.queue;
          const active = q instanceof Queue ? q.isActive(consumer) : true;
          const single = q instanceof Queue && q.config.singleActiveConsumer;
          out.push({
            consumer_tag: consumer.tag,
            queue: { name: consumer.queue.name, vhost: consumer.queue.vhost },
            channel_details: {
              name: `${name} (${ch.id})`,
              number: ch.id,
              node: this.o.nodeName,
              connection_name: name,
              peer_host: stripMapped(c.socket.remoteAddress),
              peer_port: c.socket.remotePort,
              user: c.user,
            },
            ack_required: !consumer.noAck,
            exclusive: consumer.exclusive,
            prefetch_count: consumer.prefetchCount,
            active,
            activity_status: single ? (active ? 'single_active' : 'waiting') : 'up',
            arguments: tableToJson(consumer.args),
            // The timeout its deliveries are held to (RabbitMQ 4.x shows it; none without acks).
            consumer_timeout: consumer.noAck ? null : (consumer.timeoutMs ?? queueConsumerTimeoutMs(q, c.vhost, c.ctx.consumerTimeoutMs ?? DEFAULT_CONSUMER_TIMEOUT_MS)) || null,
          });
        }
      }
    }
    return out;
  }

  async messageStats(): Promise<{ node: Row; byVhost: Record<string, Row> }> {
    const byVhost: Record<string, Row> = {};
    for (const v of this.o.broker.vhosts.values()) byVhost[v.name] = this.rates.messageStats(v.stats);
    return { node: this.rates.messageStats(this.nodeTotals), byVhost };
  }

  async exchangeStats(): Promise<Record<string, Row>> {
    const out: Record<string, Row> = {};
    for (const v of this.o.broker.vhosts.values()) {
      for (const e of v.exchanges.values()) {
        if (e.stats.publishIn === 0) continue;
        const row = this.rates.messageStats(e.stats, 'exchange');
        // Not in RabbitMQ's exchange message_stats, but its Prometheus exchange metrics count them.
        if (e.stats.returnUnroutable > 0) row.return_unroutable = e.stats.returnUnroutable;
        if (e.stats.dropUnroutable > 0) row.drop_unroutable = e.stats.dropUnroutable;
        out[`${v.name}\u0000${e.name}`] = row;
      }
    }
    return out;
  }

  /** The chart samples of one object sampled here (see ObjectHistories.samples and LocalHistories.find). */
  async samples(kind: SampledKind, id: string[], windows: SampleWindows): Promise<Row | undefined> {
    const key = this.histories.find(kind, id, { broker: this.o.broker, connections: this.o.connections(), listed: () => this.otherConnections(), nodeName: this.o.nodeName });
    return key ? this.histories.samples(kind, key, windows) : undefined;
  }

  /** Every node can act on any queue: a handle of a queue homed elsewhere forwards to its home. */
  async hasQueue(vhost: string, name: string): Promise<boolean> {
    return this.o.broker.vhost(vhost)?.queues.has(name) ?? false;
  }

  async closeConnection(name: string, reason: string): Promise<boolean> {
    const c = this.findConnection((x) => connectionName(x) === name);
    if (c) {
      c.forceClose(reason);
      return true;
    }
    const other = this.otherConnections().find(({ l }) => listingName(l) === name);
    other?.c.forceClose(reason);
    return other !== undefined;
  }

  async purge(vhost: string, queue: string): Promise<number> {
    const q = this.requireQueue(vhost, queue);
    q.checkAvailable();
    return q.purge();
  }

  /** POST .../get: takes `count` messages, then requeues, rejects or keeps them as the ack mode says. */
  async get(vhost: string, queueName: string, o: GetOptions): Promise<FetchedMessage[]> {
    const queue = this.requireQueue(vhost, queueName);
    queue.checkAvailable();
    const noAck = o.ackMode === 'ack_requeue_false';
    const taken: QueuedMessage[] = [];
    const out: FetchedMessage[] = [];
    for (let i = 0; i < o.count; i++) {
      const result = await queue.get(noAck);
      if (!result) break;
      taken.push(result.entry);
      out.push(fetched(result.entry, result.messageCount, o));
    }
    if (taken.length === 0) return out;
    if (o.ackMode === 'ack_requeue_true' || o.ackMode === 'reject_requeue_true') queue.requeue(taken);
    else if (o.ackMode === 'reject_requeue_false') queue.settle(taken, true);
    return out;
  }

  /** Routes one message as an AMQP publish without confirm would; true when some queue took it. */
  async publish(r: PublishRequest): Promise<boolean> {
    const vhost = this.o.broker.vhost(r.vhost);
    if (!vhost) throw new NotFound(`no vhost '${r.vhost}'`);
    const exchange = vhost.exchanges.get(r.exchange);
    if (!exchange) throw new NotFound(`no exchange '${r.exchange}' in vhost '${r.vhost}'`);
    const message = new Message(r.exchange, r.routingKey, encodeProperties(jsonToProperties(r.properties)), r.body);
    const targets: QueueHandle[] = [];
    vhost.route(exchange, message, targets);
    vhost.stats.publish++;
    exchange.stats.publishIn++;
    if (targets.length === 0) {
      exchange.stats.returnUnroutable++;
      vhost.stats.returnUnroutable++;
      return false;
    }
    exchange.stats.publishOut++;
    vhost.enqueueAll(targets, message, undefined, 0);
    return true;
  }

  private requireQueue(vhost: string, name: string): QueueHandle {
    const q = this.o.broker.vhost(vhost)?.queues.get(name);
    if (!q) throw new NotFound(`no queue '${name}' in vhost '${vhost}'`);
    return q;
  }

  private findConnection(test: (c: Connection) => boolean): Connection | undefined {
    for (const c of this.o.connections()) if (test(c)) return c;
    return undefined;
  }
}

const NO_COUNTS: QueueCounts = { messageCount: 0, consumerCount: 0, unackedCount: 0, messageBytes: 0 };

function addCounts(t: { ready: number; unacked: number }, c: QueueCounts): void {
  t.ready += c.messageCount;
  t.unacked += c.unackedCount;
}

/** Adds a queue handle's counts to `t`, now or (asynchronous handles) when `pending` settles; a queue whose home is down adds nothing. */
function countInto(t: { ready: number; unacked: number }, q: QueueHandle, pending: Promise<void>[]): void {
  try {
    q.checkAvailable();
    const c = q.counts();
    if (c instanceof Promise) pending.push(c.then((counts) => addCounts(t, counts), () => undefined));
    else addCounts(t, c);
  } catch {
    // a queue whose home is down counts with no messages
  }
}

const CHURN_FIELDS: [keyof Broker['churn'], string][] = [
  ['connectionCreated', 'connection_created'],
  ['connectionClosed', 'connection_closed'],
  ['channelCreated', 'channel_created'],
  ['channelClosed', 'channel_closed'],
  ['queueDeclared', 'queue_declared'],
  ['queueCreated', 'queue_created'],
  ['queueDeleted', 'queue_deleted'],
];

