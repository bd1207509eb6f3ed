import type { FieldTable } from '../protocol/field-table';
import type { BasicProperties } from '../protocol/methods.generated';

/** A SEND header that RabbitMQ refuses. */
export class HeaderError extends Error {}

/** SEND headers that become the same-named AMQP property. */
const STRING_PROPERTIES: [string, keyof BasicProperties][] = [
  ['content-type', 'contentType'],
  ['content-encoding', 'contentEncoding'],
  ['correlation-id', 'correlationId'],
  ['expiration', 'expiration'],
  ['type', 'type'],
  ['app-id', 'appId'],
  ['reply-to', 'replyTo'],
  ['amqp-message-id', 'messageId'],
  ['user-id', 'userId'],
];
const CONSUMED = new Set(['destination', 'persistent', 'priority', 'timestamp', ...STRING_PROPERTIES.map(([h]) => h)]);

/**
 * AMQP properties of a SEND, as RabbitMQ maps them: the named headers to properties,
 * `persistent:true` to delivery mode 2, every other header (receipt, transaction,
 * content-length, x-* included) into `headers` as a longstr.
 */
export function propertiesFromSend(headers: Map<string, string>): BasicProperties {
  if (headers.has('message-id')) throw new HeaderError("Invalid header 'message-id'");
  const props: BasicProperties = {};
  for (const [header, prop] of STRING_PROPERTIES) {
    const v = headers.get(header);
    if (v !== undefined) (props as Record<string, unknown>)[prop] = v;
  }
  if (headers.get('persistent')?.toLowerCase() === 'true') props.deliveryMode = 2;
  const priority = headers.get('priority');
  if (priority !== undefined) props.priority = integerHeader('priority', priority);
  const timestamp = headers.get('timestamp');
  if (timestamp !== undefined) props.timestamp = integerHeader('timestamp', timestamp);
  let table: FieldTable | undefined;
  for (const [name, value] of headers) {
    if (CONSUMED.has(name)) continue;
    (table ??= {})[name] = value;
  }
  if (table) props.headers = table;
  return props;
}

function integerHeader(name: string, value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new HeaderError(`Invalid header '${name}'`);
  return Number(value);
}

/** MESSAGE headers from a delivery's AMQP properties: named properties, then longstr and integer headers. */
export function headersFromProperties(props: BasicProperties, out: [string, string][]): void {
  for (const [header, prop] of STRING_PROPERTIES) {
    const v = props[prop];
    if (v === undefined) continue;
    if (prop === 'replyTo') out.push([header, replyToHeader(String(v))]);
    else out.push([header, String(v)]);
  }
  if (props.deliveryMode === 2) out.push(['persistent', 'true']);
  if (props.priority !== undefined) out.push(['priority', String(props.priority)]);
  if (props.timestamp !== undefined) out.push(['timestamp', String(props.timestamp)]);
  const headers = props.headers;
  if (!headers) return;
  for (const [name, value] of Object.entries(headers)) {
    // The frame gets its own content-length; a SEND's (kept in headers) would be stale.
    if (name === 'content-length') continue;
    if (typeof value === 'string') out.push([name, value]);
    else if (Buffer.isBuffer(value)) out.push([name, value.toString('utf8')]);
    else if ((typeof value === 'number' && Number.isInteger(value)) || typeof value === 'bigint') out.push([name, String(value)]);
  }
}

const KNOWN_PREFIXES = ['/exchange/', '/topic/', '/queue/', '/amq/queue/', '/temp-queue/', '/reply-queue/'];

/** A reply-to without a known destination prefix is a queue name: shown as /reply-queue/<name>. */
function replyToHeader(v: string): string {
  return KNOWN_PREFIXES.some((p) => v.startsWith(p)) ? v : `/reply-queue/${v}`;
}
