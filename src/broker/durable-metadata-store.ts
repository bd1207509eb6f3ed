import type { RecordLog } from '../store/record-log';
import type { Broker } from './broker';
import { decodeCommand, encodeCommand } from './command-codec';
import { definitionCommands } from './definition-commands';
import type { CommandResult, DefinitionCommand } from './definitions';
import type { MetadataStore } from './ports';

/** Log records after which the log is compacted into a snapshot of the durable definitions. */
const COMPACT_AFTER_RECORDS = 10_000;

/**
 * A single node's MetadataStore that survives restarts: commands apply to the model at
 * once, and those touching durable definitions are appended to a crash-safe log before
 * apply() resolves (so declare-ok is sent only once the change is on disk). Transient
 * queues, exchanges and their bindings are never written, so they are gone after a restart.
 */
export class DurableMetadataStore implements MetadataStore {
  constructor(
    private readonly broker: Broker,
    private readonly log: RecordLog,
  ) {}

  /** Replays the log into the broker; returns how many commands were recovered. */
  recover(): number {
    for (const record of this.log.recovered) {
      try {
        this.broker.applyCommand(decodeCommand(record));
      } catch {
        // A command that no longer applies (e.g. deleting what a snapshot already dropped) is skipped.
      }
    }
    return this.log.recovered.length;
  }

  async apply(cmd: DefinitionCommand): Promise<CommandResult> {
    const durable = touchesDurableState(this.broker, cmd);
    const result = this.broker.applyCommand(cmd);
    if (durable) {
      await this.log.append(encodeCommand(cmd));
      if (this.log.logRecords > COMPACT_AFTER_RECORDS) this.log.rewrite(durableDefinitions(this.broker).map(encodeCommand));
    }
    return result;
  }
}

/** Whether a command changes something that must survive a restart (evaluated before applying it). */
function touchesDurableState(broker: Broker, cmd: DefinitionCommand): boolean {
  switch (cmd.op) {
    case 'exchange.declare':
      return cmd.exchange.durable && !broker.vhost(cmd.vhost)?.exchanges.has(cmd.exchange.name);
    case 'exchange.delete':
      return broker.vhost(cmd.vhost)?.exchanges.get(cmd.name)?.def.durable ?? false;
    case 'queue.declare':
      return cmd.queue.durable && !cmd.queue.exclusive && !broker.vhost(cmd.vhost)?.queues.has(cmd.queue.name);
    case 'queue.delete':
      return broker.vhost(cmd.vhost)?.queues.get(cmd.name)?.def.durable ?? false;
    case 'binding.add':
    case 'binding.remove': {
      const vhost = broker.vhost(cmd.vhost);
      const b = cmd.binding;
      const sourceDurable = vhost?.exchanges.get(b.source)?.def.durable ?? false;
      const destinationDurable =
        b.destinationKind === 'queue' ? (vhost?.queues.get(b.destination)?.def.durable ?? false) : (vhost?.exchanges.get(b.destination)?.def.durable ?? false);
      return sourceDurable && destinationDurable;
    }
    default:
      return true;
  }
}

/** The commands that rebuild every durable definition of the broker (a snapshot). */
export function durableDefinitions(broker: Broker): DefinitionCommand[] {
  return definitionCommands(broker, true);
}
