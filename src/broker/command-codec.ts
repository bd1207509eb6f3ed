import { ByteWriter } from '../protocol/byte-writer';
import { decodeTable, type FieldTable } from '../protocol/field-table';
import type { DefinitionCommand } from './definitions';

/**
 * Commands as bytes, for the metadata log (and Raft). JSON, except that field tables are
 * carried in their AMQP wire encoding (base64) so argument types survive exactly.
 */
export function encodeCommand(cmd: DefinitionCommand): Buffer {
  return Buffer.from(JSON.stringify(cmd, (key, value) => (isTableKey(key) ? { $table: tableToBase64(value as FieldTable) } : value)));
}

export function decodeCommand(bytes: Buffer): DefinitionCommand {
  return JSON.parse(bytes.toString('utf8'), (key, value) =>
    isTableKey(key) && value && typeof value === 'object' && '$table' in value ? tableFromBase64(value.$table) : value,
  ) as DefinitionCommand;
}

function isTableKey(key: string): boolean {
  return key === 'arguments' || key === 'args';
}

function tableToBase64(table: FieldTable): string {
  const w = new ByteWriter(64);
  w.table(table);
  return w.take().subarray(4).toString('base64');
}

function tableFromBase64(text: string): FieldTable {
  const bytes = Buffer.from(text, 'base64');
  return decodeTable(bytes, 0, bytes.length);
}
