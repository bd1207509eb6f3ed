import { MethodKey } from '../../protocol/methods.generated';
import { PerfConnection } from './amqp-client';
import { queueNames, type PerfOptions } from './options';

/** The routing key producer `index` publishes with: -k, or its queue's name. */
export function producerRoutingKey(o: PerfOptions, index: number): string {
  if (o.routingKey !== null) return o.routingKey;
  const names = queueNames(o);
  return names[index % names.length];
}

/** The queue consumer `index` consumes from. */
export function consumerQueue(o: PerfOptions, index: number): string {
  const names = queueNames(o);
  return names[index % names.length];
}

function declaresExchange(o: PerfOptions): boolean {
  return o.exchange !== '' && !o.exchange.startsWith('amq.');
}

/**
 * Declares the exchange (unless it is the default or an amq.* one), the queues (durable when
 * persistent, never auto-deleted, so a filled queue outlives the run) and their bindings,
 * with the routing key -k or the queue's name.
 */
export async function declareTopology(o: PerfOptions): Promise<void> {
  if (o.predeclared) return;
  const conn = await PerfConnection.open(o.uri, 'warren-perf-setup');
  try {
    const ch = await conn.openChannel();
    if (declaresExchange(o)) {
      await ch.rpc(
        {
          key: MethodKey.ExchangeDeclare,
          args: { ticket: 0, exchange: o.exchange, type: o.exchangeType, passive: false, durable: o.persistent, autoDelete: false, internal: false, nowait: false, arguments: {} },
        },
        MethodKey.ExchangeDeclareOk,
      );
    }
    for (const queue of queueNames(o)) {
      await ch.rpc(
        {
          key: MethodKey.QueueDeclare,
          args: { ticket: 0, queue, passive: false, durable: o.persistent, exclusive: false, autoDelete: false, nowait: false, arguments: {} },
        },
        MethodKey.QueueDeclareOk,
      );
      if (o.exchange !== '') {
        await ch.rpc(
          {
            key: MethodKey.QueueBind,
            args: { ticket: 0, queue, exchange: o.exchange, routingKey: o.routingKey ?? queue, nowait: false, arguments: {} },
          },
          MethodKey.QueueBindOk,
        );
      }
    }
  } finally {
    await conn.close();
  }
}

/** Deletes the queues and a declared exchange (after --delete runs). */
export async function deleteTopology(o: PerfOptions): Promise<void> {
  const conn = await PerfConnection.open(o.uri, 'warren-perf-cleanup');
  try {
    const ch = await conn.openChannel();
    for (const queue of queueNames(o)) {
      await ch.rpc(
        { key: MethodKey.QueueDelete, args: { ticket: 0, queue, ifUnused: false, ifEmpty: false, nowait: false } },
        MethodKey.QueueDeleteOk,
      );
    }
    if (declaresExchange(o)) {
      await ch.rpc(
        { key: MethodKey.ExchangeDelete, args: { ticket: 0, exchange: o.exchange, ifUnused: false, nowait: false } },
        MethodKey.ExchangeDeleteOk,
      );
    }
  } finally {
    await conn.close();
  }
}
