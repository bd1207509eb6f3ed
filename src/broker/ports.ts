import type { DefinitionCommand, CommandResult } from './definitions';
import type { Message } from './message';

/**
 * Where every change to vhosts, users, permissions, exchanges, queues, bindings and policies
 * goes. The in-memory store applies a command to the local model at once; the clustered store
 * commits it through Raft and applies it on every node. Commands on one store are applied in
 * the order apply() was called. apply() rejects with the AmqpError the model raised
 * (NotFound, PreconditionFailed, ...) or with an error saying why the change cannot be
 * committed (e.g. this node is on the minority side of a partition).
 */
export interface MetadataStore {
  apply(command: DefinitionCommand): Promise<CommandResult>;
}

/**
 * What routing delivers to: a queue on this node, or a handle that forwards to the node that
 * owns the queue. enqueue() must not block; it returns false when the queue refuses the
 * message (deleted, or full with overflow reject-publish).
 */
export interface QueueHandle {
  readonly name: string;
  enqueue(message: Message): boolean;
}
