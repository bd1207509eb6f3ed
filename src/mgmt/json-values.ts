/** Field tables and message properties to and from the JSON the management API speaks. */
import { Decimal, type FieldTable, type FieldValue } from '../protocol/field-table';
import { fieldTableToJson } from '../protocol/field-table-json';
import type { BasicProperties } from '../protocol/methods.generated';

/** A field table as plain JSON (bigints as numbers or strings, byte strings as text, timestamps as seconds). */
export function tableToJson(table: FieldTable): Record<string, unknown> {
  return fieldTableToJson(table, (d) => Math.floor(d.getTime() / 1000));
}

/** JSON arguments as a field table: integers become signed 32/64-bit, other numbers doubles. */
export function jsonToTable(json: unknown): FieldTable {
  const out: FieldTable = {};
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return out;
  for (const [k, v] of Object.entries(json)) {
    const value = jsonToValue(v);
    if (value !== undefined) out[k] = value;
  }
  return out;
}

function jsonToValue(v: unknown): FieldValue | undefined {
  if (v === null) return null as unknown as FieldValue;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map((x) => jsonToValue(x) ?? null) as FieldValue;
  if (typeof v === 'object') return jsonToTable(v);
  return undefined;
}

const PROPERTY_NAMES: [keyof BasicProperties, string][] = [
  ['contentType', 'content_type'],
  ['contentEncoding', 'content_encoding'],
  ['headers', 'headers'],
  ['deliveryMode', 'delivery_mode'],
  ['priority', 'priority'],
  ['correlationId', 'correlation_id'],
  ['replyTo', 'reply_to'],
  ['expiration', 'expiration'],
  ['messageId', 'message_id'],
  ['timestamp', 'timestamp'],
  ['type', 'type'],
  ['userId', 'user_id'],
  ['appId', 'app_id'],
  ['clusterId', 'cluster_id'],
];

const NUMERIC = new Set(['delivery_mode', 'priority', 'timestamp']);

/** Basic properties with RabbitMQ's JSON names, as /get returns them. */
export function propertiesToJson(p: BasicProperties): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [ours, theirs] of PROPERTY_NAMES) {
    const v = p[ours];
    if (v === undefined) continue;
    out[theirs] = ours === 'headers' ? tableToJson(v as FieldTable) : v;
  }
  return out;
}

/** Properties from a publish request's JSON; throws an Error naming a property of the wrong type. */
export function jsonToProperties(json: Record<string, unknown>): BasicProperties {
  const out: Record<string, unknown> = {};
  for (const [ours, theirs] of PROPERTY_NAMES) {
    const v = json[theirs];
    if (v === undefined || v === null) continue;
    if (theirs === 'headers') {
      if (typeof v !== 'object' || Array.isArray(v)) throw new Error(`property 'headers' must be an object`);
      out[ours] = jsonToTable(v);
    } else if (NUMERIC.has(theirs)) {
      const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new Error(`property '${theirs}' must be a non-negative integer`);
      out[ours] = n;
    } else {
      if (typeof v !== 'string') throw new Error(`property '${theirs}' must be a string`);
      out[ours] = v;
    }
  }
  return out as BasicProperties;
}
