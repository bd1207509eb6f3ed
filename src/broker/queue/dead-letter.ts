import { ByteWriter } from '../../protocol/byte-writer';
import { Decimal, FIELD_TYPES, inferType, type FieldArray, type FieldTable, type FieldValue } from '../../protocol/field-table';
import { encodeBasicProperties, type BasicProperties } from '../../protocol/methods.generated';
import { Message } from '../message';

export type DeathReason = 'rejected' | 'expired' | 'maxlen' | 'delivery_limit';

function withTypes<T extends FieldTable | FieldArray>(value: T, types: T extends FieldArray ? string[] : Record<string, string>): T {
  Object.defineProperty(value, FIELD_TYPES, { value: types, enumerable: false, configurable: true });
  return value;
}

/** A copy of a table that keeps the wire types of the entries it copies. */
function copyTable(table: FieldTable | undefined): FieldTable {
  const copy: FieldTable = { ...(table ?? {}) };
  return withTypes(copy, { ...(table?.[FIELD_TYPES] ?? {}) });
}

function setTyped(table: FieldTable, key: string, value: FieldValue, type: string): void {
  table[key] = value;
  table[FIELD_TYPES]![key] = type;
}

function deleteKey(table: FieldTable, key: string): void {
  delete table[key];
  delete table[FIELD_TYPES]![key];
}

/** The routing keys a message was published with: the routing key and its CC header. */
export function routingKeysOf(message: Message): string[] {
  const cc = message.hasHeaders ? message.properties.headers?.CC : undefined;
  const keys = [message.routingKey];
  if (Array.isArray(cc)) for (const k of cc) if (typeof k === 'string') keys.push(k);
  return keys;
}

/**
 * The message as it leaves a queue for its dead-letter exchange: x-death updated (one entry
 * per queue and reason, most recent first), x-first-death-* set once, x-last-death-* always,
 * expiration moved to original-expiration, BCC dropped, CC dropped when the routing key is replaced.
 */
export function deadLetteredMessage(
  message: Message,
  queue: string,
  reason: DeathReason,
  deadLetterExchange: string,
  deadLetterRoutingKey: string | undefined,
  nowMs: number,
): Message {
  const props: BasicProperties = { ...message.properties };
  const headers = copyTable(props.headers);
  const routingKeys = routingKeysOf(message);
  const deaths = (Array.isArray(headers['x-death']) ? [...(headers['x-death'] as FieldArray)] : []) as FieldTable[];
  const existing = deaths.findIndex((d) => isTable(d) && d.queue === queue && d.reason === reason);
  let entry: FieldTable;
  if (existing >= 0) {
    entry = copyTable(deaths[existing]);
    setTyped(entry, 'count', Number(entry.count ?? 0) + 1, 'l');
    deaths.splice(existing, 1);
  } else {
    entry = withTypes({} as FieldTable, {});
    setTyped(entry, 'count', 1, 'l');
    setTyped(entry, 'reason', reason, 'S');
    setTyped(entry, 'queue', queue, 'S');
    setTyped(entry, 'time', new Date(Math.floor(nowMs / 1000) * 1000), 'T');
    setTyped(entry, 'exchange', message.exchange, 'S');
    setTyped(entry, 'routing-keys', withTypes([...routingKeys] as FieldArray, routingKeys.map(() => 'S')), 'A');
    if (props.expiration !== undefined) setTyped(entry, 'original-expiration', props.expiration, 'S');
  }
  deaths.unshift(entry);
  setTyped(headers, 'x-death', withTypes(deaths as FieldArray, deaths.map((d) => (isTable(d) ? 'F' : inferType(d as FieldValue)))), 'A');
  if (!('x-first-death-queue' in headers)) {
    setTyped(headers, 'x-first-death-queue', queue, 'S');
    setTyped(headers, 'x-first-death-reason', reason, 'S');
    setTyped(headers, 'x-first-death-exchange', message.exchange, 'S');
  }
  setTyped(headers, 'x-last-death-queue', queue, 'S');
  setTyped(headers, 'x-last-death-reason', reason, 'S');
  setTyped(headers, 'x-last-death-exchange', message.exchange, 'S');
  deleteKey(headers, 'BCC');
  if (deadLetterRoutingKey !== undefined) deleteKey(headers, 'CC');
  props.headers = headers;
  delete props.expiration;
  return new Message(deadLetterExchange, deadLetterRoutingKey ?? message.routingKey, encodeProperties(props), message.body);
}

export function encodeProperties(props: BasicProperties): Buffer {
  const w = new ByteWriter(256);
  encodeBasicProperties(w, props);
  return w.take();
}

/**
 * RabbitMQ drops a dead-lettered message that would return to a queue it already died in,
 * unless one of its deaths was a rejection (a client decided, so it is not an endless loop).
 */
export function isDeadLetterCycle(message: Message, targetQueue: string): boolean {
  const deaths = message.hasHeaders ? message.properties.headers?.['x-death'] : undefined;
  if (!Array.isArray(deaths)) return false;
  let seen = false;
  for (const d of deaths as FieldTable[]) {
    if (!isTable(d)) continue;
    if (d.reason === 'rejected') return false;
    if (d.queue === targetQueue) seen = true;
  }
  return seen;
}

/** x-death entries are tables; a client may put anything in the header, so others are skipped. */
function isTable(v: unknown): v is FieldTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Date) && !(v instanceof Decimal);
}
