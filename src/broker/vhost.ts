import { EQUIVALENCE_CHECKED_ARGS } from './queue/equivalence-args';
import type { Binding } from './binding';
import { fieldType, FIELD_TYPE_NAMES, type FieldTable } from '../protocol/field-table';
import { NotFound, PreconditionFailed, ResourceLocked } from './errors';
import { Exchange, type ExchangeDefinition } from './exchange/exchange';
import type { Message } from './message';
import { Queue, type QueueHooks } from './queue/queue';
import type { QueueDefinition } from './queue/queue-definition';
import type { ConfirmParts, QueueHandle, RemoteQueues } from './ports';
import { deadLetteredMessage, isDeadLetterCycle, type DeathReason } from './queue/dead-letter';
import { matchingPolicy, queuePolicyKind, type Policy } from './policy';
import type { MessageStore } from '../store/message-store';
import { routingBlob } from './routing-blob';
import { MessageCounters } from './message-stats';
import { ConfirmCollector } from './confirm-collector';

/** Something waiting for the message store's durable watermark (a channel's publisher confirms). */
export interface DurabilityWaiter {
  durableUpTo(ticket: number): void;
}

/** Dead-letterings one message may go through within one synchronous chain. */
const MAX_DEAD_LETTER_HOPS = 16;

const DEFAULT_EXCHANGES: [string, ExchangeDefinition['type'], boolean][] = [
  ['', 'direct', false],
  ['amq.direct', 'direct', false],
  ['amq.fanout', 'fanout', false],
  ['amq.topic', 'topic', false],
  ['amq.headers', 'headers', false],
  ['amq.match', 'headers', false],
  ['amq.rabbitmq.trace', 'topic', true],
];

/**
 * One virtual host's model: exchanges, queues and the bindings between them. Mutations are
 * called by the broker when it applies a definition command; route() is the publish hot path.
 */
export class VirtualHost implements QueueHooks {
  readonly exchanges = new Map<string, Exchange>();
  readonly queues = new Map<string, QueueHandle>();
  readonly policies = new Map<string, Policy>();
  /** Message counters of the whole vhost (management statistics). */
  readonly stats = new MessageCounters();
  /** Set by the node: asks for the deletion of a queue whose x-expires lease ran out. */
  onQueueExpired: ((queue: Queue) => void) | undefined;
  private routeEpoch = 0;
  private deadLetterDepth = 0;
  /** Set by the broker while the memory alarm is on. */
  memoryAlarm = false;
  /** Queues homed on other nodes (clustered nodes only). */
  remote: RemoteQueues | undefined;
  /** Persistent messages of durable queues; undefined until the node opens it. */
  private store: MessageStore | undefined;
  private readonly durabilityWaiters = new Set<DurabilityWaiter>();
  /** Bindings by destination ("q:name" / "e:name"), to remove them when the destination goes. */
  private readonly bindingsTo = new Map<string, Set<Binding>>();
  private readonly routeScratch: Binding[] = [];

  constructor(readonly name: string) {
    for (const [exchangeName, type, internal] of DEFAULT_EXCHANGES) {
      this.exchanges.set(exchangeName, new Exchange({ name: exchangeName, type, durable: true, autoDelete: false, internal, arguments: {} }));
    }
  }

  exchange(name: string): Exchange {
    const e = this.exchanges.get(name);
    if (!e) throw new NotFound(`no exchange '${name}' in vhost '${this.name}'`);
    return e;
  }

  queue(name: string): QueueHandle {
    const q = this.queues.get(name);
    if (!q) throw new NotFound(`no queue '${name}' in vhost '${this.name}'`);
    return q;
  }

  /** A queue to use now: it exists and its home is up (NotFound otherwise). */
  availableQueue(name: string): QueueHandle {
    const q = this.queue(name);
    q.checkAvailable();
    return q;
  }

  /** Throws 405 when `connectionId` may not use the exclusive queue `q`. */
  checkExclusiveAccess(q: QueueHandle, connectionId: string | undefined): void {
    if (q.def.exclusive && q.def.exclusiveOwner !== connectionId) this.lockedQueue(q);
  }

  private lockedQueue(q: QueueHandle): never {
    throw new ResourceLocked(`cannot obtain exclusive access to locked queue '${q.name}' in vhost '${this.name}'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`);
  }

  /**
   * Routes a message from `exchange` to the distinct queues it reaches: with its routing key
   * and any CC / BCC keys, following exchange-to-exchange bindings (each exchange visited
   * once, so loops end), then alternate exchanges while nothing matched.
   */
  route(exchange: Exchange, message: Message, out: QueueHandle[]): void {
    const epoch = ++this.routeEpoch;
    const extraKeys = message.hasHeaders ? extraRoutingKeys(message) : undefined;
    let current: Exchange | undefined = exchange;
    let tried: Set<string> | undefined;
    while (current) {
      this.routeFrom(current, message.routingKey, message, out, epoch);
      if (extraKeys) for (const key of extraKeys) this.routeFrom(current, key, message, out, epoch);
      if (out.length > 0) return;
      const alternate = this.alternateExchangeOf(current);
      if (alternate === undefined) return;
      tried ??= new Set([exchange.name]);
      if (tried.has(alternate)) return;
      tried.add(alternate);
      current = this.exchanges.get(alternate);
    }
  }

  private routeFrom(exchange: Exchange, routingKey: string, message: Message, out: QueueHandle[], epoch: number): void {
    if (exchange.name === '') {
      const q = this.queues.get(routingKey);
      if (q && q.routeMark !== epoch) {
        q.routeMark = epoch;
        out.push(q);
      }
      return;
    }
    const scratch = this.routeScratch;
    scratch.length = 0;
    exchange.router.route(routingKey, message, scratch);
    let visited: Set<string> | undefined;
    for (let i = 0; i < scratch.length; i++) {
      const b = scratch[i];
      if (b.destinationKind === 'queue') {
        const q = this.queues.get(b.destination);
        if (q && q.routeMark !== epoch) {
          q.routeMark = epoch;
          out.push(q);
        }
      } else {
        visited ??= new Set([exchange.name]);
        if (visited.has(b.destination)) continue;
        visited.add(b.destination);
        const next = this.exchanges.get(b.destination);
        if (next) next.router.route(routingKey, message, scratch);
      }
    }
    scratch.length = 0;
  }

  private alternateExchangeOf(exchange: Exchange): string | undefined {
    const arg = exchange.def.arguments['alternate-exchange'];
    if (typeof arg === 'string') return arg;
    if (Buffer.isBuffer(arg)) return arg.toString();
    const fromPolicy = exchange.policy?.definition['alternate-exchange'];
    return typeof fromPolicy === 'string' ? fromPolicy : undefined;
  }

  /** Attaches the message store: persistent messages routed to durable queues are written to it. */
  attachStore(store: MessageStore): void {
    this.store = store;
    store.onDurable((ticket) => {
      for (const w of this.durabilityWaiters) w.durableUpTo(ticket);
    });
  }

  get messageStore(): MessageStore | undefined {
    return this.store;
  }

  /** Registers a waiter until it has nothing left to wait for (it removes itself with forgetWaiter). */
  waitForDurability(waiter: DurabilityWaiter): void {
    this.durabilityWaiters.add(waiter);
  }

  forgetWaiter(waiter: DurabilityWaiter): void {
    this.durabilityWaiters.delete(waiter);
  }

  /**
   * Enqueues a routed message on every target queue. A persistent message bound for durable
   * local queues is written to the store once first (message.storeId is set); queues homed
   * on other nodes get it forwarded, each home holding a part of confirm `seq` when
   * `confirm` is given. Returns false when some queue refused it (overflow reject-publish,
   * home down): the publisher gets a nack.
   */
  enqueueAll(queues: QueueHandle[], message: Message, confirm?: ConfirmParts, seq = 0): boolean {
    let storeId: number | undefined;
    let remote: QueueHandle | QueueHandle[] | undefined;
    if (message.persistent && this.store) {
      let durable: string[] | undefined;
      for (let i = 0; i < queues.length; i++) if (queues[i].def.durable && queues[i].isLocal) (durable ??= []).push(queues[i].name);
      if (durable) storeId = message.storeId = this.store.storeMessage(durable, routingBlob(message), message.rawProperties, message.body);
    }
    let accepted = true;
    for (let i = 0; i < queues.length; i++) {
      const q = queues[i];
      if (!q.isLocal) {
        // One remote queue (the common case) needs no array.
        if (remote === undefined) remote = q;
        else if (Array.isArray(remote)) remote.push(q);
        else remote = [remote, q];
        continue;
      }
      if (!q.enqueue(message)) {
        accepted = false;
        if (storeId !== undefined && q.def.durable) this.store!.ack(q.name, storeId);
      }
    }
    if (remote !== undefined && !(this.remote?.forward(remote, message, confirm, seq) ?? false)) accepted = false;
    return accepted;
  }

  /** QueueHooks: a stored message left a queue for good. */
  released(queue: Queue, message: Message): void {
    if (this.store && queue.def.durable && message.storeId !== undefined) this.store.ack(queue.name, message.storeId);
  }

  /** QueueHooks: routes a message that died in `queue` through the queue's dead-letter exchange. */
  deadLetter(queue: Queue, message: Message, reason: DeathReason): void {
    const dlxName = queue.config.deadLetterExchange;
    if (dlxName === undefined) return;
    const dlx = this.exchanges.get(dlxName);
    if (!dlx) return;
    // Dead lettering runs synchronously, so a loop the cycle rule lets through (a rejection in
    // the chain, or a full reject-publish-dlx queue feeding itself) would recurse without end:
    // past a few hops in one chain the message is dropped.
    if (this.deadLetterDepth >= MAX_DEAD_LETTER_HOPS) return;
    // Under a memory alarm nothing new may grow the queues: dead lettering, which a topology of
    // fanout DLXs and TTLs can multiply without bound, drops the message instead.
    if (this.memoryAlarm) return;
    this.deadLetterDepth++;
    try {
      this.routeDeadLetter(queue, message, reason, dlxName, dlx);
    } finally {
      this.deadLetterDepth--;
    }
  }

  private routeDeadLetter(queue: Queue, message: Message, reason: DeathReason, dlxName: string, dlx: Exchange): void {
    const dead = deadLetteredMessage(message, queue.name, reason, dlxName, queue.config.deadLetterRoutingKey, Date.now());
    const targets: QueueHandle[] = [];
    this.route(dlx, dead, targets);
    this.enqueueAll(
      targets.filter((t) => !isDeadLetterCycle(dead, t.name)),
      dead,
    );
  }

  /**
   * At-least-once dead lettering (quorum queues): routes `message`, which died in `queue`,
   * through the queue's dead-letter exchange as deadLetter() does, and tells `done` whether
   * every target queue took it (remote and quorum targets once they confirmed). A missing
   * exchange, a message routed nowhere or a refusing target is false: the caller retries.
   */
  deadLetterConfirmed(queue: QueueHandle & { readonly config: Queue['config'] }, message: Message, reason: DeathReason, done: (ok: boolean) => void): void {
    const collector = new ConfirmCollector(done);
    const dlxName = queue.config.deadLetterExchange;
    const dlx = dlxName === undefined ? undefined : this.exchanges.get(dlxName);
    if (dlxName === undefined || !dlx) return collector.seal(false);
    const dead = deadLetteredMessage(message, queue.name, reason, dlxName, queue.config.deadLetterRoutingKey, Date.now());
    const targets: QueueHandle[] = [];
    this.route(dlx, dead, targets);
    const to = targets.filter((t) => !isDeadLetterCycle(dead, t.name));
    collector.seal(to.length > 0 && this.enqueueAll(to, dead, collector, 0));
  }

  /** QueueHooks: the queue's x-expires lease ran out. */
  expired(queue: Queue): void {
    this.onQueueExpired?.(queue);
  }

  setPolicy(policy: Policy): void {
    this.policies.set(policy.name, policy);
    this.reapplyPolicies();
  }

  deletePolicy(name: string): void {
    if (!this.policies.delete(name)) throw new NotFound(`no policy '${name}' in vhost '${this.name}'`);
    this.reapplyPolicies();
  }

  private reapplyPolicies(): void {
    for (const q of this.queues.values()) q.applyPolicy(matchingPolicy(this.policies.values(), queuePolicyKind(q.def.arguments), q.name)?.definition);
    for (const e of this.exchanges.values()) if (e.name !== '') e.policy = matchingPolicy(this.policies.values(), 'exchange', e.name);
  }

  declareExchange(def: ExchangeDefinition): Exchange {
    const existing = this.exchanges.get(def.name);
    if (existing) {
      existing.checkEquivalent(def, this.name);
      return existing;
    }
    const e = new Exchange(def);
    e.policy = matchingPolicy(this.policies.values(), 'exchange', def.name);
    this.exchanges.set(def.name, e);
    return e;
  }

  deleteExchange(name: string, ifUnused: boolean): void {
    const e = this.exchange(name);
    if (ifUnused && (e.bindingCount > 0 || (this.bindingsTo.get(`e:${name}`)?.size ?? 0) > 0)) {
      throw new PreconditionFailed(`exchange '${name}' in vhost '${this.name}' in use`);
    }
    for (const b of [...e.allBindings()]) this.removeBinding(b, false);
    for (const b of [...(this.bindingsTo.get(`e:${name}`) ?? [])]) this.removeBinding(b, true);
    this.exchanges.delete(name);
  }

  /** Declares a queue; returns it and whether it was created. Checks exclusivity, then equivalence. */
  declareQueue(def: QueueDefinition, connectionId: string | undefined): { queue: QueueHandle; created: boolean } {
    const existing = this.queues.get(def.name);
    if (existing) {
      this.checkExclusiveAccess(existing, connectionId);
      // RabbitMQ's strict check: the redeclaration's owner (none unless exclusive) must be the queue's.
      if (existing.def.exclusive !== def.exclusive) this.lockedQueue(existing);
      checkQueueEquivalent(existing, def, this.name);
      existing.touch();
      return { queue: existing, created: false };
    }
    const queue = this.remote?.handleFor(this.name, def) ?? new Queue(this.name, def, this, matchingPolicy(this.policies.values(), queuePolicyKind(def.arguments), def.name)?.definition);
    this.queues.set(def.name, queue);
    return { queue, created: true };
  }

  /** Deletes a queue: its bindings go, consumers are told. Returns the number of ready messages dropped. */
  deleteQueue(name: string, ifUnused: boolean, ifEmpty: boolean): number {
    const q = this.queue(name);
    if (q instanceof Queue) {
      if (ifUnused && q.consumerCount > 0) throw new PreconditionFailed(`queue '${name}' in vhost '${this.name}' in use`);
      if (ifEmpty && q.messageCount > 0) throw new PreconditionFailed(`queue '${name}' in vhost '${this.name}' not empty`);
    }
    for (const b of [...(this.bindingsTo.get(`q:${name}`) ?? [])]) this.removeBinding(b, true);
    this.queues.delete(name);
    if (q.def.durable && q.isLocal) this.store?.deleteQueue(name);
    return q.markDeleted();
  }

  addBinding(binding: Binding): void {
    const source = this.exchange(binding.source);
    if (binding.destinationKind === 'queue') this.queue(binding.destination);
    else this.exchange(binding.destination);
    if (source.bind(binding)) {
      const key = destinationKey(binding);
      let set = this.bindingsTo.get(key);
      if (!set) this.bindingsTo.set(key, (set = new Set()));
      set.add(binding);
    }
  }

  /** Removes a binding; an auto-delete source exchange left without bindings is deleted. */
  removeBinding(binding: Binding, autoDeleteSource = true): void {
    const source = this.exchanges.get(binding.source);
    if (!source) return;
    const stored = [...source.allBindings()].find((b) => sameBinding(b, binding));
    if (!stored || !source.unbind(stored)) return;
    const set = this.bindingsTo.get(destinationKey(stored));
    set?.delete(stored);
    if (set && set.size === 0) this.bindingsTo.delete(destinationKey(stored));
    if (autoDeleteSource && source.def.autoDelete && source.bindingCount === 0) this.deleteExchange(source.name, false);
  }

  /** All bindings whose destination is the given queue or exchange. */
  bindingsToDestination(kind: 'queue' | 'exchange', name: string): Binding[] {
    return [...(this.bindingsTo.get(`${kind === 'queue' ? 'q' : 'e'}:${name}`) ?? [])];
  }
}

function destinationKey(b: Binding): string {
  return `${b.destinationKind === 'queue' ? 'q' : 'e'}:${b.destination}`;
}

function sameBinding(a: Binding, b: Binding): boolean {
  return a.destination === b.destination && a.destinationKind === b.destinationKind && a.routingKey === b.routingKey && sameArgs(a, b);
}

function sameArgs(a: Binding, b: Binding): boolean {
  const ka = Object.keys(a.args).sort();
  const kb = Object.keys(b.args).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && String(a.args[k]) === String(b.args[k]));
}

function checkQueueEquivalent(q: QueueHandle, def: QueueDefinition, vhost: string): void {
  const where = `for queue '${q.name}' in vhost '${vhost}'`;
  const fields: [string, boolean, boolean][] = [
    ['durable', def.durable, q.def.durable],
    ['exclusive', def.exclusive, q.def.exclusive],
    ['auto_delete', def.autoDelete, q.def.autoDelete],
  ];
  for (const [name, received, current] of fields) {
    if (received !== current) throw new PreconditionFailed(`inequivalent arg '${name}' ${where}: received '${received}' but current is '${current}'`);
  }
  checkArgumentsEquivalent(q.def.arguments, def.arguments, where);
}

/** RabbitMQ compares the arguments it knows by type and value, ignores the others; x-queue-type absent equals 'classic'. */
function checkArgumentsEquivalent(current: FieldTable, received: FieldTable, where: string): void {
  const keys = new Set([...Object.keys(current), ...Object.keys(received)]);
  for (const key of keys) {
    const a = current[key];
    const b = received[key];
    if (!EQUIVALENCE_CHECKED_ARGS.has(key)) continue;
    if (key === 'x-queue-type' && (a ?? 'classic') === (b ?? 'classic')) continue;
    if (a === undefined && b !== undefined) {
      throw new PreconditionFailed(`inequivalent arg '${key}' ${where}: received the value '${String(b)}' of type '${FIELD_TYPE_NAMES[fieldType(received, key)]}' but current is none`);
    }
    if (b === undefined && a !== undefined) {
      throw new PreconditionFailed(`inequivalent arg '${key}' ${where}: received none but current is the value '${String(a)}' of type '${FIELD_TYPE_NAMES[fieldType(current, key)]}'`);
    }
    if (String(a) !== String(b)) {
      throw new PreconditionFailed(`inequivalent arg '${key}' ${where}: received the value '${String(b)}' of type '${FIELD_TYPE_NAMES[fieldType(received, key)]}' but current is the value '${String(a)}' of type '${FIELD_TYPE_NAMES[fieldType(current, key)]}'`);
    }
  }
}

/** CC and BCC header values: extra routing keys chosen by the sender. */
function extraRoutingKeys(message: Message): string[] | undefined {
  const headers = message.properties.headers;
  if (!headers) return undefined;
  const cc = headers.CC;
  const bcc = headers.BCC;
  if (!Array.isArray(cc) && !Array.isArray(bcc)) return undefined;
  const keys: string[] = [];
  for (const list of [cc, bcc]) if (Array.isArray(list)) for (const k of list) if (typeof k === 'string') keys.push(k);
  return keys;
}
