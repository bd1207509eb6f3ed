/**
 * This node's chart history of its queues, exchanges, vhosts, connections and channels (one
 * ObjectHistories per kind), filled by the sampling timer and looked up by the names the API
 * uses. Connections and channels are sampled on the node they live on, queues on their home;
 * exchanges and vhosts on every node (each counts what entered through it), summed by BrokerView.
 */
import type { ConnectionListing, ListedConnection } from '../adapter/listed-connection';
import type { Channel } from '../amqp/channel';
import type { Connection } from '../amqp/connection';
import type { Exchange } from '../broker/exchange/exchange';
import type { Broker } from '../broker/broker';
import type { ChurnCounters, MessageCounters } from '../broker/message-stats';
import type { VirtualHost } from '../broker/vhost';
import { CHANNEL_COUNTERS, CHANNEL_LAYOUT, CONNECTION_LAYOUT, CONNECTION_RECV_COLUMN, EXCHANGE_COUNTERS, NODE_CHURN, NODE_LAYOUT, EXCHANGE_LAYOUT, fillCounters, QUEUE_COUNTERS, QUEUE_LAYOUT, VHOST_LAYOUT, VHOST_RECV_COLUMN } from './history-layouts';
import { connectionName } from './amqp-connection-rows';
import { diskFree, fdCounts } from './node-info';
import { ObjectHistories, type SampledKind, type SampleWindows } from './object-history';
import { listingName } from './protocol-connections';

type Row = Record<string, unknown>;


export interface HistoryBounds {
  /** Ticks kept (retention / sampling interval). */
  points: number;
  /** Most queues with a ring at once. */
  maxQueues: number;
  /** Most exchanges, vhosts, connections and channels (each kind apart) with a ring at once. */
  maxObjects: number;
}

/** What `find` looks in: this node's model and connections. */
export interface Here {
  broker: Broker;
  connections: Iterable<Connection>;
  listed: () => { c: ListedConnection; l: ConnectionListing }[];
  nodeName: string;
}

/** A vhost's sums over one tick: queue lengths and its connections' bytes. */
interface VhostTick {
  ready: number;
  unacked: number;
  recv: number;
  send: number;
}

export class LocalHistories {
  readonly queues: ObjectHistories;
  readonly exchanges: ObjectHistories<Exchange>;
  readonly vhosts: ObjectHistories<VirtualHost>;
  readonly connections: ObjectHistories;
  readonly channels: ObjectHistories<Channel>;
  /** This node's own figures: one object, always recorded. */
  readonly node: ObjectHistories;
  /** The node's key in `node`. */
  readonly nodeKey = {};
  private readonly scratch = new Float64Array(32);
  private readonly vhostTicks = new Map<string, VhostTick>();

  constructor(b: HistoryBounds) {
    this.queues = new ObjectHistories(QUEUE_LAYOUT, b.points, b.maxQueues);
    this.exchanges = new ObjectHistories(EXCHANGE_LAYOUT, b.points, b.maxObjects);
    this.vhosts = new ObjectHistories(VHOST_LAYOUT, b.points, b.maxObjects);
    this.connections = new ObjectHistories(CONNECTION_LAYOUT, b.points, b.maxObjects);
    this.channels = new ObjectHistories(CHANNEL_LAYOUT, b.points, b.maxObjects);
    this.node = new ObjectHistories(NODE_LAYOUT, b.points, 1);
  }

  beginTick(nowMs: number): void {
    for (const h of this.all()) h.beginTick(nowMs);
    this.vhostTicks.clear();
  }

  private vhostTick(name: string | undefined): VhostTick | undefined {
    if (name === undefined) return undefined;
    let t = this.vhostTicks.get(name);
    if (!t) this.vhostTicks.set(name, (t = { ready: 0, unacked: 0, recv: 0, send: 0 }));
    return t;
  }

  queue(q: object, vhost: string, stats: MessageCounters, ready: number, unacked: number): void {
    const n = fillCounters(this.scratch, QUEUE_COUNTERS, stats);
    this.scratch[n] = ready;
    this.scratch[n + 1] = unacked;
    this.queues.record(q, this.scratch);
    const t = this.vhostTick(vhost)!;
    t.ready += ready;
    t.unacked += unacked;
  }

  exchange(e: Exchange): void {
    fillCounters(this.scratch, EXCHANGE_COUNTERS, e.stats);
    this.exchanges.record(e, this.scratch);
  }

  /** An AMQP connection and its channels. */
  connection(c: Connection): void {
    let recv = 0;
    let send = 0;
    try {
      recv = c.socket.bytesRead;
      send = c.socket.bytesWritten;
    } catch {
      // a destroyed socket no longer reports its byte counts
    }
    this.bytes(c, c.vhost?.name, recv, send);
    for (const ch of c.channels.values()) {
      fillCounters(this.scratch, CHANNEL_COUNTERS, ch.stats);
      this.channels.record(ch, this.scratch);
    }
  }

  /** A connection of another protocol (MQTT, STOMP), by its listing's byte counts. */
  listedConnection(c: ListedConnection, vhost: string, recv: number, send: number): void {
    this.bytes(c, vhost, recv, send);
  }

  private bytes(c: object, vhost: string | undefined, recv: number, send: number): void {
    this.scratch[CONNECTION_RECV_COLUMN] = recv;
    this.scratch[CONNECTION_RECV_COLUMN + 1] = send;
    this.connections.record(c, this.scratch);
    const t = this.vhostTick(vhost);
    if (t) {
      t.recv += recv;
      t.send += send;
    }
  }

  /** The node's figures (node_stats): churn totals, memory, descriptors, sockets, processes, free disk. */
  nodeFigures(churn: ChurnCounters, sockets: number, dataDir: string): void {
    const n = NODE_CHURN.length;
    for (let i = 0; i < n; i++) this.scratch[i] = churn[NODE_CHURN[i]];
    this.scratch[n] = process.memoryUsage.rss();
    this.scratch[n + 1] = fdCounts().used;
    this.scratch[n + 2] = sockets;
    this.scratch[n + 3] = 1;
    this.scratch[n + 4] = diskFree(dataDir);
    this.node.record(this.nodeKey, this.scratch);
  }

  /** The object a request names, if this node samples it: `id` is [vhost, name] for queues and exchanges, [name] otherwise. */
  find(kind: SampledKind, [a, b]: string[], here: Here): object | undefined {
    switch (kind) {
      case 'queue':
        return here.broker.vhost(a)?.queues.get(b);
      case 'exchange':
        return here.broker.vhost(a)?.exchanges.get(b);
      case 'vhost':
        return here.broker.vhost(a);
      case 'node':
        return a === here.nodeName ? this.nodeKey : undefined;
      case 'connection':
        for (const c of here.connections) if (connectionName(c) === a) return c;
        return here.listed().find(({ l }) => listingName(l) === a)?.c;
      case 'channel':
        for (const c of here.connections) for (const ch of c.channels.values()) if (`${connectionName(c)} (${ch.id})` === a) return ch;
        return undefined;
    }
  }

  /** Records every vhost (after its queues and connections) and ends the tick. */
  endTick(vhosts: Iterable<VirtualHost>): void {
    for (const v of vhosts) {
      const n = fillCounters(this.scratch, CHANNEL_COUNTERS, v.stats);
      const t = this.vhostTicks.get(v.name);
      this.scratch[n] = t?.recv ?? 0;
      this.scratch[n + 1] = t?.send ?? 0;
      this.scratch[n + 2] = t?.ready ?? 0;
      this.scratch[n + 3] = t?.unacked ?? 0;
      this.vhosts.record(v, this.scratch);
    }
    for (const h of this.all()) h.endTick();
  }

  /** Bytes per second received and sent over the last tick by a connection or a vhost's connections. */
  dataRates(key: object, kind: 'connection' | 'vhost'): { recv: number; send: number } {
    const h = kind === 'connection' ? this.connections : (this.vhosts as ObjectHistories);
    const col = kind === 'connection' ? CONNECTION_RECV_COLUMN : VHOST_RECV_COLUMN;
    return { recv: h.rate(key, col), send: h.rate(key, col + 1) };
  }

  samples(kind: SampledKind, key: object, windows: SampleWindows): Row | undefined {
    const h: ObjectHistories = { queue: this.queues, exchange: this.exchanges, vhost: this.vhosts, connection: this.connections, channel: this.channels, node: this.node }[kind] as ObjectHistories;
    return h.samples(key, windows);
  }

  private all(): ObjectHistories[] {
    return [this.queues, this.exchanges, this.vhosts, this.connections, this.channels, this.node] as ObjectHistories[];
  }
}
