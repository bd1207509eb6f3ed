import type { FieldTable } from '../../protocol/field-table';
import { PreconditionFailed } from '../errors';

/**
 * What RabbitMQ requires of a quorum queue's declaration: durable, neither exclusive nor
 * auto-delete (the properties it names in its 406 are its own words).
 */
export function checkQuorumDeclaration(args: FieldTable, durable: boolean, exclusive: boolean, autoDelete: boolean, name: string, vhost: string): void {
  if (args['x-queue-type'] !== 'quorum') return;
  const invalid = !durable ? 'non-durable' : exclusive ? 'exclusive-owner' : autoDelete ? 'auto-delete' : undefined;
  if (invalid) throw new PreconditionFailed(`invalid property '${invalid}' for queue '${name}' in vhost '${vhost}'`);
}
