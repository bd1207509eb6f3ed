import { FIELD_TYPE_NAMES, fieldType } from '../protocol/field-table';
import { PreconditionFailed } from '../broker/errors';
import type { Message } from '../broker/message';

const ROUTING_HEADERS = ['CC', 'BCC'] as const;

/**
 * CC and BCC must be arrays (of longstr routing keys; other elements are ignored when routing).
 * RabbitMQ refuses a publish whose CC or BCC has another type with 406, before routing and
 * whether or not a transaction is open; the reply text is RabbitMQ's, word for word.
 */
export function checkRoutingHeaders(message: Message): void {
  const headers = message.properties.headers;
  if (!headers) return;
  for (const key of ROUTING_HEADERS) {
    const value = headers[key];
    if (value === undefined || Array.isArray(value)) continue;
    const type = FIELD_TYPE_NAMES[fieldType(headers, key)] ?? 'unknown';
    throw new PreconditionFailed(`invalid message: {unacceptable_type_in_header,"${key}",${type}}`);
  }
}
