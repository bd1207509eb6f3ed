import { Decimal, type FieldTable } from './field-table';

/**
 * A field table as plain JSON: bigints as numbers (as strings past 2^53), byte strings as
 * text, decimals as numbers, nested tables and arrays converted; timestamps by `date` (the
 * management API gives seconds, warrenctl ISO strings); an invalid date is null.
 */
export function fieldTableToJson(table: FieldTable, date: (d: Date) => unknown): Record<string, unknown> {
  const value = (v: unknown): unknown => {
    if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    if (Buffer.isBuffer(v)) return v.toString('utf8');
    if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : date(v);
    if (v instanceof Decimal) return v.value / 10 ** v.scale;
    if (Array.isArray(v)) return v.map(value);
    if (v !== null && typeof v === 'object') return fieldTableToJson(v as FieldTable, date);
    return v;
  };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(table)) out[k] = value(v);
  return out;
}
