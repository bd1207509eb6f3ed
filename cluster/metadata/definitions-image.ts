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
import { definitionCommands } from '../../src/broker/definition-commands';
import type { DefinitionCommand } from '../../src/broker/definitions';

/** Every definition of `broker`, transient ones included, in an order that applies cleanly to an empty broker. */
export function allDefinitions(broker: Broker): DefinitionCommand[] {
  return definitionCommands(broker, false);
}

export { isBuiltInExchange as isBuiltIn } from '../../src/broker/definition-commands';

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
