/** A queued message as POST /api/queues/:vhost/:name/get returns it. */
import type { QueuedMessage } from '../broker/ports';
import type { FetchedMessage, GetOptions } from './broker-view';
import { propertiesToJson } from './json-values';

export function fetched(entry: QueuedMessage, remaining: number, o: GetOptions): FetchedMessage {
  const m = entry.message;
  let body = m.body;
  if (o.truncate !== undefined && body.length > o.truncate) body = body.subarray(0, o.truncate);
  const text = o.encoding === 'auto' ? utf8OrUndefined(body) : undefined;
  return {
    payload_bytes: m.body.length,
    redelivered: entry.redelivered,
    exchange: m.exchange,
    routing_key: m.routingKey,
    message_count: remaining,
    properties: propertiesToJson(m.properties),
    payload: text ?? body.toString('base64'),
    payload_encoding: text === undefined ? 'base64' : 'string',
  };
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function utf8OrUndefined(b: Buffer): string | undefined {
  try {
    return decoder.decode(b);
  } catch {
    return undefined;
  }
}
