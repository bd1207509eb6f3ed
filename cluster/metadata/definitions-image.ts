/**
 * The whole definition model of a broker as commands, and back: the metadata FSM's
 * snapshot image. Unlike durableDefinitions() (what a single node keeps across restarts),
 * the image holds transient exchanges and queues too, with their owning node, because
 * every node of a cluster must agree on all of them.
 *
 * Format: repeated `u32 length | encodeCommand(cmd)`.
 */
import type { Broker } from '../../src/broker/broker';
import { decodeCommand, encodeCommand } from '../../src/broker/command-codec';
import type { DefinitionCommand } from '../../src/broker/definitions';

/** Every definition of `broker`, in an order that applies cleanly to an empty broker. */
export function allDefinitions(broker: Broker): DefinitionCommand[] {
  const out: DefinitionCommand[] = [];
  for (const name of broker.vhosts.keys()) out.push({ op: 'vhost.add', vhost: name });
  for (const user of broker.users.values()) out.push({ op: 'user.put', user });
  for (const permission of broker.permissions.values()) out.push({ op: 'permission.set', permission });
  for (const vhost of broker.vhosts.values()) {
    for (const policy of vhost.policies.values()) out.push({ op: 'policy.set', policy });
    for (const e of vhost.exchanges.values()) {
      if (!isBuiltIn(e.name)) out.push({ op: 'exchange.declare', vhost: vhost.name, exchange: e.def });
    }
    for (const q of vhost.queues.values()) {
      out.push({ op: 'queue.declare', vhost: vhost.name, queue: q.def, connectionId: q.def.exclusiveOwner });
    }
    for (const e of vhost.exchanges.values()) {
      for (const binding of e.allBindings()) out.push({ op: 'binding.add', vhost: vhost.name, binding });
    }
  }
  return out;
}

export function isBuiltIn(exchangeName: string): boolean {
  return exchangeName === '' || exchangeName.startsWith('amq.');
}

export function encodeImage(commands: DefinitionCommand[]): Buffer {
  const parts: Buffer[] = [];
  for (const cmd of commands) {
    const bytes = encodeCommand(cmd);
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(bytes.length, 0);
    parts.push(len, bytes);
  }
  return Buffer.concat(parts);
}

/** Throws on a truncated image (snapshots are CRC-checked by the store, so this is a bug). */
export function decodeImage(data: Buffer): DefinitionCommand[] {
  const out: DefinitionCommand[] = [];
  let at = 0;
  while (at < data.length) {
    if (at + 4 > data.length) throw new Error('metadata image: truncated length');
    const len = data.readUInt32BE(at);
    at += 4;
    if (at + len > data.length) throw new Error('metadata image: truncated command');
    out.push(decodeCommand(data.subarray(at, at + len)));
    at += len;
  }
  return out;
}
