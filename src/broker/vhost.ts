import type { Binding } from './binding';
import { fieldType, FIELD_TYPE_NAMES, type FieldTable } from '../protocol/field-table';
import { NotFound, PreconditionFailed, ResourceLocked } from './errors';
import { Exchange, type ExchangeDefinition } from './exchange/exchange';
import type { Message } from './message';
import { Queue, type QueueDefinition } from './queue/queue';

const DEFAULT_EXCHANGES: [string, ExchangeDefinition['type'], boolean][] = [
  ['', 'direct', false],
  ['amq.direct', 'direct', false],
  ['amq.fanout', 'fanout', false],
  ['amq.topic', 'topic', false],
  ['amq.headers', 'headers', false],
  ['amq.match', 'headers', false],
  ['amq.rabbitmq.trace', 'topic', true],
];

/** Observes queue removal, so connections can drop consumers and channels their state. */
export type QueueDeletedListener = (queue: Queue) => void;

/**
 * One virtual host's model: exchanges, queues and the bindings between them. Mutations are
 * called by the broker when it applies a definition command; route() is the publish hot path.
 */
export class VirtualHost {
  readonly exchanges = new Map<string, Exchange>();
  readonly queues = new Map<string, Queue>();
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

  queue(name: string): Queue {
    const q = this.queues.get(name);
    if (!q) throw new NotFound(`no queue '${name}' in vhost '${this.name}'`);
    return q;
  }

  /** Throws 405 when `connectionId` may not use the exclusive queue `q`. */
  checkExclusiveAccess(q: Queue, connectionId: string | undefined): void {
    if (q.def.exclusive && q.def.exclusiveOwner !== connectionId) {
      throw new ResourceLocked(`cannot obtain exclusive access to locked queue '${q.name}' in vhost '${this.name}'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`);
    }
  }

  /**
   * Routes a message from `exchange` to the set of queues it reaches, following
   * exchange-to-exchange bindings (each exchange visited once, so loops end).
   * The returned array is reused by the next call.
   */
  route(exchange: Exchange, message: Message, out: Queue[]): void {
    if (exchange.name === '') {
      const q = this.queues.get(message.routingKey);
      if (q) out.push(q);
      return;
    }
    const scratch = this.routeScratch;
    scratch.length = 0;
    exchange.router.route(message, scratch);
    let visited: Set<string> | undefined;
    for (let i = 0; i < scratch.length; i++) {
      const b = scratch[i];
      if (b.destinationKind === 'queue') {
        const q = this.queues.get(b.destination);
        if (q && !out.includes(q)) out.push(q);
      } else {
        visited ??= new Set([exchange.name]);
        if (visited.has(b.destination)) continue;
        visited.add(b.destination);
        const next = this.exchanges.get(b.destination);
        if (next) next.router.route(message, scratch);
      }
    }
    scratch.length = 0;
  }

  declareExchange(def: ExchangeDefinition): Exchange {
    const existing = this.exchanges.get(def.name);
    if (existing) {
      existing.checkEquivalent(def, this.name);
      return existing;
    }
    const e = new Exchange(def);
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
  declareQueue(def: QueueDefinition, connectionId: string | undefined): { queue: Queue; created: boolean } {
    const existing = this.queues.get(def.name);
    if (existing) {
      this.checkExclusiveAccess(existing, connectionId);
      checkQueueEquivalent(existing, def, this.name);
      return { queue: existing, created: false };
    }
    const queue = new Queue(this.name, def);
    this.queues.set(def.name, queue);
    return { queue, created: true };
  }

  /** Deletes a queue: its bindings go, consumers are told. Returns the number of ready messages dropped. */
  deleteQueue(name: string, ifUnused: boolean, ifEmpty: boolean): number {
    const q = this.queue(name);
    if (ifUnused && q.consumerCount > 0) throw new PreconditionFailed(`queue '${name}' in vhost '${this.name}' in use`);
    if (ifEmpty && q.messageCount > 0) throw new PreconditionFailed(`queue '${name}' in vhost '${this.name}' not empty`);
    for (const b of [...(this.bindingsTo.get(`q:${name}`) ?? [])]) this.removeBinding(b, true);
    this.queues.delete(name);
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

function checkQueueEquivalent(q: Queue, def: QueueDefinition, vhost: string): void {
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

/** RabbitMQ compares x-arguments by type and value; x-queue-type absent equals 'classic'. */
function checkArgumentsEquivalent(current: FieldTable, received: FieldTable, where: string): void {
  const keys = new Set([...Object.keys(current), ...Object.keys(received)]);
  for (const key of keys) {
    const a = current[key];
    const b = received[key];
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
