import type { FieldTable } from '../../protocol/field-table';
import { bindingKey, type Binding } from '../binding';
import { PreconditionFailed } from '../errors';
import type { Policy } from '../policy';
import { DirectRouter } from './direct';
import { FanoutRouter } from './fanout';
import { HeadersRouter } from './headers';
import type { ExchangeRouter } from './router';
import { TopicRouter } from './topic';
import { MessageCounters } from '../message-stats';

export const EXCHANGE_TYPES = ['direct', 'fanout', 'topic', 'headers'] as const;
export type ExchangeType = (typeof EXCHANGE_TYPES)[number];

export function isExchangeType(type: string): type is ExchangeType {
  return (EXCHANGE_TYPES as readonly string[]).includes(type);
}

function routerFor(type: ExchangeType): ExchangeRouter {
  switch (type) {
    case 'direct':
      return new DirectRouter();
    case 'fanout':
      return new FanoutRouter();
    case 'topic':
      return new TopicRouter();
    case 'headers':
      return new HeadersRouter();
  }
}

export interface ExchangeDefinition {
  name: string;
  type: ExchangeType;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  arguments: FieldTable;
}

/** An exchange and the bindings whose source it is. */
export class Exchange {
  readonly router: ExchangeRouter;
  /** The policy in force for this exchange (alternate-exchange), if any. */
  policy: Policy | undefined;
  private readonly bindings = new Map<string, Binding>();
  /** publish_in / publish_out and unroutable counters (management statistics). */
  readonly stats = new MessageCounters();

  constructor(readonly def: ExchangeDefinition) {
    this.router = routerFor(def.type);
  }

  get name(): string {
    return this.def.name;
  }

  get bindingCount(): number {
    return this.bindings.size;
  }

  allBindings(): IterableIterator<Binding> {
    return this.bindings.values();
  }

  /** Adds a binding; returns false when an identical one already exists. */
  bind(binding: Binding): boolean {
    const key = bindingKey(binding);
    if (this.bindings.has(key)) return false;
    this.router.add(binding);
    this.bindings.set(key, binding);
    return true;
  }

  /** Removes a binding equal to `binding`; returns false when there was none. */
  unbind(binding: Binding): boolean {
    const key = bindingKey(binding);
    const existing = this.bindings.get(key);
    if (!existing) return false;
    this.router.remove(existing);
    this.bindings.delete(key);
    return true;
  }

  /** Throws 406 unless `other` declares the same exchange (RabbitMQ's equivalence check). */
  checkEquivalent(other: ExchangeDefinition, vhost: string): void {
    const where = `for exchange '${this.name}' in vhost '${vhost}'`;
    const fields: [string, unknown, unknown][] = [
      ['type', other.type, this.def.type],
      ['durable', other.durable, this.def.durable],
      ['auto_delete', other.autoDelete, this.def.autoDelete],
      ['internal', other.internal, this.def.internal],
    ];
    for (const [name, received, current] of fields) {
      if (received !== current) {
        throw new PreconditionFailed(`inequivalent arg '${name}' ${where}: received '${received}' but current is '${current}'`);
      }
    }
    // Of the arguments RabbitMQ compares only alternate-exchange; others may differ.
    const receivedAe = other.arguments['alternate-exchange'];
    const currentAe = this.def.arguments['alternate-exchange'];
    if (String(receivedAe) !== String(currentAe)) {
      const show = (v: unknown) => (v === undefined ? 'none' : `the value '${String(v)}'`);
      throw new PreconditionFailed(`inequivalent arg 'alternate-exchange' ${where}: received ${show(receivedAe)} but current is ${show(currentAe)}`);
    }
  }
}
