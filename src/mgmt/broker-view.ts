/**
 * The management API's only window onto live broker state: queues with their counts,
 * connections, channels, consumers, and the operations on messages (publish, get, purge) and
 * connections (close). Definitions (vhosts, users, exchanges, bindings, policies) are read from
 * the replicated model directly; everything that lives on one node goes through here.
 *
 * A NodeSource answers for one node. BrokerView combines several: on a single node it holds
 * one local source; in a cluster every node's source (the local one, and remote ones that ask
 * a peer over the mesh) so any node answers for the whole cluster. Rows are plain JSON in
 * RabbitMQ's shapes, so a remote source can send them as they are.
 */
import type { SampledKind, SampleWindows } from './object-history';
import { sumSamples } from './samples-json';

export type Row = Record<string, unknown>;

/** One message fetched through the API (POST /api/queues/:vhost/:name/get). */
export interface FetchedMessage {
  payload_bytes: number;
  redelivered: boolean;
  exchange: string;
  routing_key: string;
  message_count: number;
  properties: Row;
  payload: string;
  payload_encoding: 'string' | 'base64';
}

export type AckMode = 'ack_requeue_true' | 'ack_requeue_false' | 'reject_requeue_true' | 'reject_requeue_false';

export interface GetOptions {
  count: number;
  ackMode: AckMode;
  encoding: 'auto' | 'base64';
  truncate: number | undefined;
}

export interface PublishRequest {
  vhost: string;
  exchange: string;
  routingKey: string;
  /** Basic properties with RabbitMQ's JSON names (delivery_mode, headers, ...). */
  properties: Row;
  body: Buffer;
}

export interface NodeTotals {
  /** Per vhost: queues, ready and unacknowledged messages. */
  byVhost: Record<string, { queues: number; ready: number; unacked: number }>;
  connections: number;
  channels: number;
  consumers: number;
}

/** What one node knows of its own live state. Every method may be remote, hence async. */
export interface NodeSource {
  readonly nodeName: string;
  /** The node object of GET /api/nodes (§4.2). */
  node(): Promise<Row>;
  /** Queues homed on this node (§4.7); all vhosts when vhost is undefined; only those keyed `vhost\u0000name` in `only` when given. */
  queues(vhost: string | undefined, only?: Set<string>): Promise<Row[]>;
  connections(): Promise<Row[]>;
  channels(): Promise<Row[]>;
  consumers(): Promise<Row[]>;
  /** message_stats of every exchange counted on this node, keyed `vhost\u0000name`. */
  exchangeStats(): Promise<Record<string, Row>>;
  /** Counts for the overview without building rows: queues and their messages per vhost, open connections, channels, consumers. */
  totals(): Promise<NodeTotals>;
  /** connection/channel/queue created and closed counts with rates (RabbitMQ's churn_rates). */
  churn(): Promise<Row>;
  /** Node-wide message_stats and queue totals, for /api/overview and the vhost rows. */
  messageStats(): Promise<{ node: Row; byVhost: Record<string, Row> }>;
  /**
   * An object's chart samples (partial row fields, see ObjectHistories.samples); undefined when
   * this node does not sample it. `id`: [vhost, name] for queues and exchanges, [name] otherwise.
   */
  samples(kind: SampledKind, id: string[], windows: SampleWindows): Promise<Row | undefined>;
  /** Whether this node holds the queue's messages. */
  hasQueue(vhost: string, name: string): Promise<boolean>;
  /** Closes a connection by its listed name with 320 CONNECTION_FORCED; false when not here. */
  closeConnection(name: string, reason: string): Promise<boolean>;
  purge(vhost: string, queue: string): Promise<number>;
  get(vhost: string, queue: string, options: GetOptions): Promise<FetchedMessage[]>;
  /** Routes one message; resolves with whether any queue took it. */
  publish(request: PublishRequest): Promise<boolean>;
}

/** The whole cluster's live state, as every node's API shows it. */
export class BrokerView {
  /** `sources`: this node's first, then the other members (a function when membership changes). */
  constructor(private readonly sourcesOf: NodeSource[] | (() => NodeSource[])) {}

  get sources(): NodeSource[] {
    return typeof this.sourcesOf === 'function' ? this.sourcesOf() : this.sourcesOf;
  }

  async nodes(): Promise<Row[]> {
    return Promise.all(this.sources.map((s) => s.node()));
  }

  async queues(vhost?: string, only?: Set<string>): Promise<Row[]> {
    return (await Promise.all(this.sources.map((s) => s.queues(vhost, only)))).flat();
  }

  async queue(vhost: string, name: string): Promise<Row | undefined> {
    return (await this.queues(vhost)).find((q) => q.name === name);
  }

  async connections(): Promise<Row[]> {
    return (await Promise.all(this.sources.map((s) => s.connections()))).flat();
  }

  async channels(): Promise<Row[]> {
    return (await Promise.all(this.sources.map((s) => s.channels()))).flat();
  }

  async consumers(): Promise<Row[]> {
    return (await Promise.all(this.sources.map((s) => s.consumers()))).flat();
  }

  async totals(): Promise<NodeTotals[]> {
    return Promise.all(this.sources.map((s) => s.totals()));
  }

  async churn(): Promise<Row[]> {
    return Promise.all(this.sources.map((s) => s.churn()));
  }

  async messageStats(): Promise<{ node: Row; byVhost: Record<string, Row> }[]> {
    return Promise.all(this.sources.map((s) => s.messageStats()));
  }

  /** Exchange message_stats summed over the nodes, keyed `vhost\u0000name`. */
  async exchangeStats(): Promise<Record<string, Row[]>> {
    const out: Record<string, Row[]> = {};
    for (const perNode of await Promise.all(this.sources.map((s) => s.exchangeStats()))) {
      for (const [k, v] of Object.entries(perNode)) (out[k] ??= []).push(v);
    }
    return out;
  }

  async closeConnection(name: string, reason: string): Promise<boolean> {
    for (const s of this.sources) if (await s.closeConnection(name, reason)) return true;
    return false;
  }

  /**
   * An object's chart samples: queues from their home, connections and channels from their
   * node; exchanges and vhosts summed over every node that counted them (each counts what
   * entered through it).
   */
  async samples(kind: SampledKind, id: string[], windows: SampleWindows): Promise<Row | undefined> {
    const answers = (await Promise.all(this.sources.map((s) => s.samples(kind, id, windows)))).filter((a): a is Row => a !== undefined);
    if (kind === 'exchange' || kind === 'vhost') return answers.length > 0 ? sumSamples(answers) : undefined;
    return answers[0];
  }

  /** The source holding a queue's messages; undefined when no node does. */
  async home(vhost: string, queue: string): Promise<NodeSource | undefined> {
    for (const s of this.sources) if (await s.hasQueue(vhost, queue)) return s;
    return undefined;
  }

  /** Publishing enters at the first (local) node, which routes as for an AMQP publish. */
  publish(request: PublishRequest): Promise<boolean> {
    return this.sources[0].publish(request);
  }
}
