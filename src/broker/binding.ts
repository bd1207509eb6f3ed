import type { FieldTable } from '../protocol/field-table';

export type DestinationKind = 'queue' | 'exchange';

/** A binding from a source exchange to a queue or (exchange-to-exchange) another exchange. */
export interface Binding {
  readonly source: string;
  readonly destination: string;
  readonly destinationKind: DestinationKind;
  readonly routingKey: string;
  readonly args: FieldTable;
}

/** Identity of a binding: two bindings with equal keys are the same binding (amqp 0-9-1: bind is idempotent). */
export function bindingKey(b: Binding): string {
  return `${b.destinationKind}\u0000${b.destination}\u0000${b.routingKey}\u0000${canonicalArgs(b.args)}`;
}

function canonicalArgs(args: FieldTable): string {
  const keys = Object.keys(args).sort();
  if (keys.length === 0) return '';
  return JSON.stringify(keys.map((k) => [k, String(args[k])]));
}
