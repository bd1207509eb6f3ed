import type { DefinitionCommand, CommandResult } from './definitions';
import type { Message } from './message';
import type { FieldTable } from '../protocol/field-table';
import type { QueueDefinition } from './queue/queue-definition';

/**
 * Where every change to vhosts, users, permissions, exchanges, queues, bindings and policies
 * goes. The in-memory store applies a command to the local model at once; the clustered store
 * commits it through Raft and applies it on every node. Commands on one store are applied in
 * the order apply() was called. apply() rejects with the AmqpError the model raised
 * (NotFound, PreconditionFailed, ...) or with an error saying why the change cannot be
 * committed (e.g. this node is on the minority side of a partition).
 */
export interface MetadataStore {
  apply(command: DefinitionCommand): Promise<CommandResult>;
}

/** A queue's figures as its home knows them. */
export interface QueueCounts {
  /** Ready messages. */
  messageCount: number;
  consumerCount: number;
  /** Delivered with manual ack, not yet settled. */
  unackedCount: number;
  /** Bytes of the ready messages' bodies. */
  messageBytes: number;
}

/**
 * Something publishers wait on when it cannot keep up (a consumer's backed-up socket, a
 * remote home out of credit). A waiter added is told once, by resumeFlow(), when it may go on.
 */
export interface FlowGate {
  addFlowWaiter(waiter: FlowWaiter): void;
}

export interface FlowWaiter {
  resumeFlow(): void;
}

/**
 * A publisher confirm that waits on several parts (an fsync, remote homes). hold() adds a
 * pending part to sequence number `seq`; partDone() settles one; the confirm goes out when
 * every part is done (a nack if any part failed).
 */
export interface ConfirmParts {
  hold(seq: number): void;
  partDone(seq: number, ok: boolean): void;
}

/**
 * What routing delivers to, and everything a protocol handler does with a queue: a classic
 * queue held by this node (`isLocal`), or a queue homed on another node whose handle
 * forwards over the mesh (cluster/forward). Local queues answer synchronously; the
 * `| Promise` forms are those of remote homes. Errors are domain errors (NotFound naming a
 * home that is down, AccessRefused for an exclusive consumer, ...).
 */
export interface QueueHandle {
  readonly name: string;
  readonly vhost: string;
  readonly def: QueueDefinition;
  /** True when this node holds the queue's messages. */
  readonly isLocal: boolean;
  /** Set once the queue is deleted. */
  readonly deleted: boolean;
  /** Scratch mark used by VirtualHost.route to add each queue once per routed message. */
  routeMark: number;
  /** Throws NotFound when the home is down or unreachable. */
  checkAvailable(): void;
  /** Enqueues a message routed to this queue alone (no confirm); false when refused. */
  enqueue(message: Message): boolean;
  counts(): QueueCounts | Promise<QueueCounts>;
  /** basic.get: the head message, or undefined when the queue is empty; with the ready count left. */
  get(noAck: boolean): GetResult | undefined | Promise<GetResult | undefined>;
  /** Throws AccessRefused when exclusivity forbids the consumer. */
  addConsumer(consumer: Consumer): void | Promise<void>;
  /** Removes a consumer; resolves true when the queue should now be auto-deleted (local only). */
  removeConsumer(consumer: Consumer): boolean | Promise<boolean>;
  /** Settles delivered messages: acked, or rejected without requeue (dead-lettered). */
  settle(entries: QueuedMessage[], rejected: boolean): void;
  /** Puts delivered messages back, marked redelivered, in their original order. */
  requeue(entries: QueuedMessage[]): void;
  purge(): number | Promise<number>;
  /** Lets consumers that gained credit take ready messages. */
  drain(): void;
  /** What a publisher into this queue should wait on now, if anything. */
  flowGate(): FlowGate | undefined;
  /** Restarts the x-expires lease (declared again). */
  touch(): void;
  applyPolicy(policy: Record<string, unknown> | undefined): void;
  /** The queue was deleted: drops messages, stops timers, cancels consumers; returns ready messages dropped. */
  markDeleted(): number;
}

export interface GetResult {
  entry: QueuedMessage;
  /** Ready messages left after this one. */
  messageCount: number;
}

/**
 * The cluster's part in a vhost, plugged in by cluster/forward: handles of queues homed on
 * other nodes, and forwarding of a message to them.
 */
export interface RemoteQueues {
  /** The handle for `def` when another node is its home; undefined when this node is. */
  handleFor(vhost: string, def: QueueDefinition): QueueHandle | undefined;
  /**
   * Forwards `message` to one remote queue or several (grouped by home, one copy per home). With `confirm`,
   * each home holds one part of confirm `seq` until it has taken the message (fsynced when
   * persistent into durable queues). Returns false when some home refused at once (down).
   */
  forward(queues: QueueHandle | QueueHandle[], message: Message, confirm: ConfirmParts | undefined, seq: number): boolean;
  /** Delivers a direct reply-to reply whose requester is on `node`. */
  forwardReply(node: string, routingKey: string, message: Message): void;
  /**
   * The counts of every queue of `vhost` homed on other running nodes, by queue name: one
   * request per node (lists of many queues). Queues of nodes that do not answer are absent.
   */
  remoteCounts(vhost: string): Promise<Map<string, QueueCounts>>;
  /** A quorum queue's members changed (its definition already says so). */
  membersChanged?(queue: QueueHandle): void;
}

/** A message in a queue, with what the queue knows of its delivery history. */
export interface QueuedMessage {
  readonly message: Message;
  redelivered: boolean;
  /** When the message expires (queue or per-message TTL), in ms since the epoch; Infinity for never. */
  readonly expiresAtMs: number;
  /**
   * Position in the queue's order, given when the message first leaves the ready list (0 or
   * absent = never did): a requeue puts it back there. Local queues set it to 0 on entry.
   */
  seq?: number;
}

/**
 * The receiving side of a basic.consume, implemented by src/amqp's channel (and, at a home,
 * by the proxy of a consumer on another node). A queue calls canTake() before each delivery
 * and deliver() to hand the message over; both run synchronously inside the queue's
 * dispatch loop.
 */
export interface Consumer {
  readonly tag: string;
  readonly noAck: boolean;
  readonly exclusive: boolean;
  readonly args: FieldTable;
  /** x-priority of basic.consume; higher is served first. */
  readonly priority: number;
  /** basic.qos prefetch-count (global=false) in force when the consumer was created; 0 = unlimited. */
  readonly prefetchCount: number;
  /** True while prefetch (and the channel's flow state) allows another delivery. */
  canTake(): boolean;
  /**
   * The gate publishers into its queue wait on when the consumer could take more but its
   * connection is backed up (RabbitMQ's credit flow); undefined when it is not.
   */
  congestion(): FlowGate | undefined;
  deliver(queue: QueueHandle, entry: QueuedMessage): void;
  /** The queue went away (deleted, or its home is down); the consumer is already removed from it. */
  cancelledByQueue(queue: QueueHandle): void;
}
