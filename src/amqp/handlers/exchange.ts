import { MethodKey, type AmqpMethod } from '../../protocol/methods.generated';
import { AccessRefused, CommandInvalid, NotFound, PreconditionFailed } from '../../broker/errors';
import { isExchangeType } from '../../broker/exchange/exchange';
import { headersMatchMode } from '../../broker/exchange/headers';
import type { Binding } from '../../broker/binding';
import type { ChannelState as Channel } from '../channel-state';
import { cleanName } from '../names';
import { authorizeBind, authorizeExchangeDeclare, authorizePassive, authorize } from '../access';

const DEFAULT_EXCHANGE_DENIED = 'operation not permitted on the default exchange';

export async function handleExchangeMethod(ch: Channel, m: AmqpMethod): Promise<void> {
  const vhost = ch.vhost;
  const out = ch.connection.out;
  const metadata = ch.connection.metadata;
  switch (m.key) {
    case MethodKey.ExchangeDeclare: {
      const a = m.args;
      const name = cleanName(a.exchange);
      if (a.passive) {
        if (name === '') throw new AccessRefused(DEFAULT_EXCHANGE_DENIED);
        authorizePassive(ch, 'exchange', name);
        if (!vhost.exchanges.has(name)) {
          throw new NotFound(`no exchange '${name}' in vhost '${vhost.name}'`);
        }
      } else {
        if (name === '') throw new AccessRefused(DEFAULT_EXCHANGE_DENIED);
        authorizeExchangeDeclare(ch, name, a.arguments);
        if (!isExchangeType(a.type)) throw new PreconditionFailed(`unknown exchange type '${a.type}'`);
        const def = { name, type: a.type, durable: a.durable, autoDelete: a.autoDelete, internal: a.internal, arguments: a.arguments };
        const existing = vhost.exchanges.get(name);
        if (name.startsWith('amq.')) {
          if (!existing) throw new AccessRefused(`exchange name '${name}' contains reserved prefix 'amq.*'`);
          existing.checkEquivalent(def, vhost.name);
        } else {
          await metadata.apply({ op: 'exchange.declare', vhost: vhost.name, exchange: def });
        }
      }
      if (!a.nowait) out.method(ch.id, { key: MethodKey.ExchangeDeclareOk, args: {} });
      return;
    }
    case MethodKey.ExchangeDelete: {
      const name = cleanName(m.args.exchange);
      if (name === '') throw new AccessRefused(DEFAULT_EXCHANGE_DENIED);
      if (name.startsWith('amq.')) throw new AccessRefused(`deletion of system exchange '${name}' in vhost '${vhost.name}' not allowed`);
      authorize(ch, 'configure', 'exchange', name);
      if (vhost.exchanges.has(name)) {
        await metadata.apply({ op: 'exchange.delete', vhost: vhost.name, name, ifUnused: m.args.ifUnused });
      }
      if (!m.args.nowait) out.method(ch.id, { key: MethodKey.ExchangeDeleteOk, args: {} });
      return;
    }
    case MethodKey.ExchangeBind:
    case MethodKey.ExchangeUnbind: {
      const a = m.args;
      const binding: Binding = {
        source: cleanName(a.source),
        destination: cleanName(a.destination),
        destinationKind: 'exchange',
        routingKey: a.routingKey,
        args: a.arguments,
      };
      authorizeBind(ch, 'exchange', binding.destination, binding.source, binding.routingKey);
      if (binding.source === '' || binding.destination === '') throw new AccessRefused(DEFAULT_EXCHANGE_DENIED);
      const bind = m.key === MethodKey.ExchangeBind;
      if (bind || vhost.exchanges.has(binding.source)) {
        const source = vhost.exchange(binding.source);
        vhost.exchange(binding.destination);
        if (bind && source.def.type === 'headers') headersMatchMode(binding.args);
        await metadata.apply({ op: bind ? 'binding.add' : 'binding.remove', vhost: vhost.name, binding });
      }
      if (!a.nowait) out.method(ch.id, bind ? { key: MethodKey.ExchangeBindOk, args: {} } : { key: MethodKey.ExchangeUnbindOk, args: {} });
      return;
    }
  }
  throw new CommandInvalid('unimplemented method');
}
