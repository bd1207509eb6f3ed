import type { Broker } from './broker';
import type { CommandResult, DefinitionCommand } from './definitions';
import type { MetadataStore } from './ports';

/** A MetadataStore for one node without replication: commands apply to the local model at once. */
export class LocalMetadataStore implements MetadataStore {
  constructor(private readonly broker: Broker) {}

  async apply(command: DefinitionCommand): Promise<CommandResult> {
    return this.broker.applyCommand(command);
  }
}
