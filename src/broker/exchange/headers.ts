import { Decimal, FIELD_TYPES, type FieldTable, type FieldValue } from '../../protocol/field-table';
import type { Binding } from '../binding';
import type { Message } from '../message';
import { PreconditionFailed } from '../errors';
import type { ExchangeRouter } from './router';

type MatchMode = 'all' | 'any' | 'all-with-x' | 'any-with-x';

interface Compiled {
  binding: Binding;
  mode: MatchMode;
  /** [key, value, matches presence only] */
  pairs: [string, FieldValue, boolean][];
}

/** Parses the x-match argument of a headers binding; an unknown mode is a 406, as in RabbitMQ. */
export function headersMatchMode(args: FieldTable): MatchMode {
  const mode = args['x-match'];
  if (mode === undefined) return 'all';
  if (mode === 'all' || mode === 'any' || mode === 'all-with-x' || mode === 'any-with-x') return mode;
  throw new PreconditionFailed(`Invalid x-match field value ${JSON.stringify(String(mode))}; expected all, any, all-with-x, or any-with-x`);
}

export class HeadersRouter implements ExchangeRouter {
  private compiled: Compiled[] = [];

  add(binding: Binding): void {
    const mode = headersMatchMode(binding.args);
    const withX = mode.endsWith('-with-x');
    const types = binding.args[FIELD_TYPES];
    const pairs: Compiled['pairs'] = [];
    for (const key of Object.keys(binding.args)) {
      if (key === 'x-match') continue;
      if (!withX && key.startsWith('x-')) continue;
      pairs.push([key, binding.args[key], types?.[key] === 'V']);
    }
    this.compiled.push({ binding, mode, pairs });
  }

  remove(binding: Binding): void {
    this.compiled = this.compiled.filter((c) => c.binding !== binding);
  }

  route(_routingKey: string, message: Message, out: Binding[]): void {
    const headers: FieldTable = (message.hasHeaders && message.properties.headers) || {};
    for (const c of this.compiled) if (matches(c, headers)) out.push(c.binding);
  }
}

function matches(c: Compiled, headers: FieldTable): boolean {
  const any = c.mode === 'any' || c.mode === 'any-with-x';
  if (c.pairs.length === 0) return !any;
  for (const [key, value, presenceOnly] of c.pairs) {
    const hit = key in headers && (presenceOnly || sameValue(headers[key], value));
    if (any && hit) return true;
    if (!any && !hit) return false;
  }
  return !any;
}

/** Equality of header values as the headers exchange compares them: by value, numbers of any width alike. */
function sameValue(a: FieldValue, b: FieldValue): boolean {
  if (typeof a === 'number' || typeof a === 'bigint') {
    if (typeof b !== 'number' && typeof b !== 'bigint') return false;
    return typeof a === 'bigint' || typeof b === 'bigint' ? BigInt.asIntN(64, toBigInt(a)) === BigInt.asIntN(64, toBigInt(b)) : a === b;
  }
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  if (a instanceof Decimal || b instanceof Decimal) return a instanceof Decimal && b instanceof Decimal && a.scale === b.scale && a.value === b.value;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => k in b && sameValue(a[k], (b as FieldTable)[k]));
  }
  return a === b;
}

/** A number as a bigint; non-integers (floats) never equal a 64-bit integer, so they map to a value no long can hold. */
function toBigInt(v: number | bigint): bigint {
  if (typeof v === 'bigint') return v;
  return Number.isInteger(v) ? BigInt(v) : BigInt(2) ** BigInt(70);
}
