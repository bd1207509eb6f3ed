import { createHash, randomBytes } from 'node:crypto';

/** A STOMP destination, parsed as RabbitMQ's STOMP plugin reads it. */
export type Destination =
  | { kind: 'exchange'; exchange: string; pattern: string }
  | { kind: 'topic'; topic: string }
  | { kind: 'queue'; queue: string }
  | { kind: 'amq-queue'; queue: string }
  | { kind: 'temp-queue'; name: string }
  | { kind: 'reply-queue'; queue: string };

/** Why a destination was refused: ERROR `message` and detail. */
export class DestinationError extends Error {
  constructor(
    readonly summary: 'Unknown destination' | 'Invalid destination',
    detail: string,
  ) {
    super(detail);
  }
}

/** Only %2F is decoded inside a name. */
function decodeName(s: string): string {
  return s.replace(/%2F/gi, '/');
}

export function parseDestination(raw: string): Destination {
  const invalid = () => new DestinationError('Invalid destination', `'${raw}' is not a valid destination`);
  const tail = (prefix: string) => raw.slice(prefix.length);
  if (raw.startsWith('/exchange/')) {
    const rest = tail('/exchange/');
    const slash = rest.indexOf('/');
    const exchange = decodeName(slash < 0 ? rest : rest.slice(0, slash));
    const pattern = slash < 0 ? '' : decodeName(rest.slice(slash + 1));
    if (exchange === '') throw invalid();
    return { kind: 'exchange', exchange, pattern };
  }
  if (raw.startsWith('/topic/')) {
    const topic = decodeName(tail('/topic/'));
    if (topic === '') throw invalid();
    return { kind: 'topic', topic };
  }
  if (raw.startsWith('/amq/queue/')) {
    const queue = decodeName(tail('/amq/queue/'));
    if (queue === '') throw invalid();
    return { kind: 'amq-queue', queue };
  }
  if (raw.startsWith('/queue/')) {
    const queue = decodeName(tail('/queue/'));
    if (queue === '') throw invalid();
    return { kind: 'queue', queue };
  }
  if (raw.startsWith('/temp-queue/')) {
    const name = tail('/temp-queue/');
    if (name === '') throw invalid();
    return { kind: 'temp-queue', name };
  }
  if (raw.startsWith('/reply-queue/')) {
    const queue = tail('/reply-queue/');
    if (queue === '') throw invalid();
    return { kind: 'reply-queue', queue };
  }
  if (raw.startsWith('/')) throw new DestinationError('Unknown destination', `'${raw}' is not a valid destination.\nValid destination types are: /exchange, /topic, /queue, /amq/queue, /temp-queue, /reply-queue.`);
  if (raw === '') throw invalid();
  return { kind: 'queue', queue: decodeName(raw) };
}

/**
 * The queue of a /topic or /exchange subscription: `stomp-subscription-` + base64url(md5 of
 * Erlang's term_to_binary({Key, Id})), as RabbitMQ names it, so a durable subscription finds
 * the same queue on RabbitMQ and Warren. Id is random for non-durable subscriptions.
 */
export function subscriptionQueueName(key: string, id: string | undefined): string {
  const k = Buffer.from(key, 'utf8');
  const i = id === undefined ? randomBytes(16) : Buffer.from(id, 'utf8');
  const term = Buffer.allocUnsafe(4 + 4 + k.length + 1 + 4 + i.length);
  let o = 0;
  term[o++] = 0x83; // external term format
  term[o++] = 0x68; // small tuple
  term[o++] = 2;
  term[o++] = 0x6d; // binary
  term.writeUInt32BE(k.length, o);
  o += 4;
  k.copy(term, o);
  o += k.length;
  term[o++] = 0x6d;
  term.writeUInt32BE(i.length, o);
  o += 4;
  i.copy(term, o);
  return 'stomp-subscription-' + createHash('md5').update(term).digest('base64url');
}

/** Printable ASCII other than `/` and `%`: nothing to encode (the common case). */
const PLAIN_PART = /^[\x20-\x24\x26-\x2e\x30-\x7f]*$/;

/** A part of a MESSAGE destination: `/` → %2F, `%` → %25, bytes outside 32..127 → %XX. */
function encodePart(s: string): string {
  if (PLAIN_PART.test(s)) return s;
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b === 0x2f) out += '%2F';
    else if (b === 0x25) out += '%25';
    else if (b < 32 || b > 127) out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
    else out += String.fromCharCode(b);
  }
  return out;
}

/** The MESSAGE `destination` header rebuilt from a delivery's exchange and routing key. */
export function messageDestination(exchange: string, routingKey: string): string {
  if (exchange === '') return `/queue/${encodePart(routingKey)}`;
  if (exchange === 'amq.topic') return `/topic/${encodePart(routingKey)}`;
  return routingKey === '' ? `/exchange/${encodePart(exchange)}` : `/exchange/${encodePart(exchange)}/${encodePart(routingKey)}`;
}
