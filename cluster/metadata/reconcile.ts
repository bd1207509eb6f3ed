/**
 * Makes a live broker's definitions equal to an image (a snapshot sent by the leader to a
 * follower that fell too far behind): removes what the image lacks or defines
 * differently, then applies the image. Queues that stay keep their messages and consumers.
 */
import type { Broker } from '../../src/broker/broker';
import { bindingKey } from '../../src/broker/binding';
import { encodeCommand } from '../../src/broker/command-codec';
import type { DefinitionCommand } from '../../src/broker/definitions';
import type { QueueDefinition } from '../../src/broker/queue/queue';
import type { Logger } from '../../src/log/logger';
import { isBuiltIn } from './definitions-image';

export function reconcile(broker: Broker, image: DefinitionCommand[], log: Logger): void {
  const vhosts = new Set<string>();
  const users = new Set<string>();
  const permissions = new Set<string>();
  const queues = new Map<string, string>();
  const exchanges = new Map<string, string>();
  const policies = new Set<string>();
  const bindings = new Set<string>();
  for (const c of image) {
    switch (c.op) {
      case 'vhost.add': vhosts.add(c.vhost); break;
      case 'user.put': users.add(c.user.name); break;
      case 'permission.set': permissions.add(`${c.permission.user}\u0000${c.permission.vhost}`); break;
      case 'policy.set': policies.add(`${c.policy.vhost}\u0000${c.policy.name}`); break;
      case 'exchange.declare': exchanges.set(`${c.vhost}\u0000${c.exchange.name}`, encodeCommand({ op: 'exchange.declare', vhost: c.vhost, exchange: c.exchange }).toString()); break;
      case 'queue.declare': queues.set(`${c.vhost}\u0000${c.queue.name}`, queueIdentity(c.vhost, c.queue)); break;
      case 'binding.add': bindings.add(`${c.vhost}\u0000${c.binding.source}\u0000${bindingKey(c.binding)}`); break;
      default: break;
    }
  }
  for (const name of [...broker.vhosts.keys()]) if (!vhosts.has(name)) broker.applyCommand({ op: 'vhost.delete', vhost: name });
  for (const name of [...broker.users.keys()]) if (!users.has(name)) broker.applyCommand({ op: 'user.delete', name });
  for (const key of [...broker.permissions.keys()]) if (!permissions.has(key)) broker.permissions.delete(key);
  broker.access.clear();
  broker.globalParameters.clear();
  for (const vhost of broker.vhosts.values()) {
    for (const name of [...vhost.policies.keys()]) if (!policies.has(`${vhost.name}\u0000${name}`)) vhost.deletePolicy(name);
    for (const [name, q] of [...vhost.queues]) {
      if (queues.get(`${vhost.name}\u0000${name}`) !== queueIdentity(vhost.name, q.def)) vhost.deleteQueue(name, false, false);
    }
    for (const [name, e] of [...vhost.exchanges]) {
      if (isBuiltIn(name) || !vhost.exchanges.has(name)) continue;
      const wanted = exchanges.get(`${vhost.name}\u0000${name}`);
      if (wanted !== encodeCommand({ op: 'exchange.declare', vhost: vhost.name, exchange: e.def }).toString()) vhost.deleteExchange(name, false);
    }
    for (const e of vhost.exchanges.values()) {
      for (const b of [...e.allBindings()]) {
        if (!bindings.has(`${vhost.name}\u0000${e.name}\u0000${bindingKey(b)}`)) vhost.removeBinding(b, false);
      }
    }
  }
  for (const cmd of image) {
    try {
      broker.applyCommand(cmd);
    } catch (err) {
      log.warn({ err, op: cmd.op }, 'metadata snapshot command did not apply');
    }
  }
}

function queueIdentity(vhost: string, def: QueueDefinition): string {
  return encodeCommand({ op: 'queue.declare', vhost, queue: def }).toString();
}
