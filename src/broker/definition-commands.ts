import type { Broker } from './broker';
import type { DefinitionCommand } from './definitions';

/** The exchanges every vhost has from birth: never written out, never deleted. */
export function isBuiltInExchange(name: string): boolean {
  return name === '' || name.startsWith('amq.');
}

/**
 * The commands that rebuild a broker's definitions on an empty broker, in an order that
 * applies cleanly. `durableOnly` keeps what a single node keeps across restarts (durable
 * exchanges and queues, bindings between durable ones); otherwise transient ones are listed
 * too, with exclusive owners, as a cluster's metadata snapshot needs.
 */
export function definitionCommands(broker: Broker, durableOnly: boolean): DefinitionCommand[] {
  const out: DefinitionCommand[] = [];
  for (const name of broker.vhosts.keys()) out.push({ op: 'vhost.add', vhost: name });
  for (const user of broker.users.values()) out.push({ op: 'user.put', user });
  for (const permission of broker.permissions.values()) out.push({ op: 'permission.set', permission });
  for (const permission of broker.access.topicPermissions.values()) out.push({ op: 'topic-permission.set', permission });
  for (const [vhost, limits] of broker.access.vhostLimits) out.push({ op: 'vhost-limits.set', vhost, limits });
  for (const [user, limits] of broker.access.userLimits) out.push({ op: 'user-limits.set', user, limits });
  for (const [name, value] of broker.globalParameters) out.push({ op: 'global-parameter.set', name, value });
  for (const vhost of broker.vhosts.values()) {
    for (const policy of vhost.policies.values()) out.push({ op: 'policy.set', policy });
    for (const e of vhost.exchanges.values()) {
      if (!isBuiltInExchange(e.name) && (!durableOnly || e.def.durable)) out.push({ op: 'exchange.declare', vhost: vhost.name, exchange: e.def });
    }
    for (const q of vhost.queues.values()) {
      if (!durableOnly || q.def.durable) out.push({ op: 'queue.declare', vhost: vhost.name, queue: q.def, connectionId: q.def.exclusiveOwner });
    }
    for (const e of vhost.exchanges.values()) {
      if (durableOnly && !e.def.durable) continue;
      for (const binding of e.allBindings()) {
        const destination = binding.destinationKind === 'queue' ? vhost.queues.get(binding.destination) : vhost.exchanges.get(binding.destination);
        if (!durableOnly || destination?.def.durable) out.push({ op: 'binding.add', vhost: vhost.name, binding });
      }
    }
  }
  return out;
}
