// Frame builders of the protocol fuzzer: every method of AMQP 0-9-1 (as the broker's generated codec lists
// them) with random but well-typed arguments, content headers with random properties, and mutations.
// Arguments are encoded here byte by byte rather than with Warren's encoder so that strings can be
// non-UTF-8 and tables can carry whatever the fuzzer wants; frames are wrapped with test/helpers/raw-amqp.
import { METHOD_INFO } from '../../src/protocol/methods.generated';
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEARTBEAT, frame, methodFrame, u16, u32 } from '../helpers/raw-amqp';
import {
  exchangeName, EXCHANGE_TYPES, longstrValue, queueName, randomShortBytes, randomTable, routingKey, type Rng,
  shortstrBytes, tableOf, u16Value, u32Value, u64Value, u8Value, xArguments, fieldValue, intField,
} from './fuzz-random';

/** Field types of the spec: octet, short, long, longlong, shortstr, longstr, bit, table, timestamp. */
type FieldType = 'octet' | 'short' | 'long' | 'longlong' | 'shortstr' | 'longstr' | 'bit' | 'table' | 'timestamp';

/** Argument lists of every method, by "class.method" name, as "name:type" (from the 0-9-1 XML). */
const SCHEMA: Record<string, string> = {
  'connection.start': 'versionMajor:octet versionMinor:octet serverProperties:table mechanisms:longstr locales:longstr',
  'connection.start-ok': 'clientProperties:table mechanism:shortstr response:longstr locale:shortstr',
  'connection.secure': 'challenge:longstr',
  'connection.secure-ok': 'response:longstr',
  'connection.tune': 'channelMax:short frameMax:long heartbeat:short',
  'connection.tune-ok': 'channelMax:short frameMax:long heartbeat:short',
  'connection.open': 'virtualHost:shortstr capabilities:shortstr insist:bit',
  'connection.open-ok': 'knownHosts:shortstr',
  'connection.close': 'replyCode:short replyText:shortstr classId:short methodId:short',
  'connection.close-ok': '',
  'connection.blocked': 'reason:shortstr',
  'connection.unblocked': '',
  'connection.update-secret': 'newSecret:longstr reason:shortstr',
  'connection.update-secret-ok': '',
  'channel.open': 'outOfBand:shortstr',
  'channel.open-ok': 'channelId:longstr',
  'channel.flow': 'active:bit',
  'channel.flow-ok': 'active:bit',
  'channel.close': 'replyCode:short replyText:shortstr classId:short methodId:short',
  'channel.close-ok': '',
  'access.request': 'realm:shortstr exclusive:bit passive:bit active:bit write:bit read:bit',
  'access.request-ok': 'ticket:short',
  'exchange.declare': 'ticket:short exchange:shortstr type:shortstr passive:bit durable:bit autoDelete:bit internal:bit nowait:bit arguments:table',
  'exchange.declare-ok': '',
  'exchange.delete': 'ticket:short exchange:shortstr ifUnused:bit nowait:bit',
  'exchange.delete-ok': '',
  'exchange.bind': 'ticket:short destination:shortstr source:shortstr routingKey:shortstr nowait:bit arguments:table',
  'exchange.bind-ok': '',
  'exchange.unbind': 'ticket:short destination:shortstr source:shortstr routingKey:shortstr nowait:bit arguments:table',
  'exchange.unbind-ok': '',
  'queue.declare': 'ticket:short queue:shortstr passive:bit durable:bit exclusive:bit autoDelete:bit nowait:bit arguments:table',
  'queue.declare-ok': 'queue:shortstr messageCount:long consumerCount:long',
  'queue.bind': 'ticket:short queue:shortstr exchange:shortstr routingKey:shortstr nowait:bit arguments:table',
  'queue.bind-ok': '',
  'queue.purge': 'ticket:short queue:shortstr nowait:bit',
  'queue.purge-ok': 'messageCount:long',
  'queue.delete': 'ticket:short queue:shortstr ifUnused:bit ifEmpty:bit nowait:bit',
  'queue.delete-ok': 'messageCount:long',
  'queue.unbind': 'ticket:short queue:shortstr exchange:shortstr routingKey:shortstr arguments:table',
  'queue.unbind-ok': '',
  'basic.qos': 'prefetchSize:long prefetchCount:short global:bit',
  'basic.qos-ok': '',
  'basic.consume': 'ticket:short queue:shortstr consumerTag:shortstr noLocal:bit noAck:bit exclusive:bit nowait:bit arguments:table',
  'basic.consume-ok': 'consumerTag:shortstr',
  'basic.cancel': 'consumerTag:shortstr nowait:bit',
  'basic.cancel-ok': 'consumerTag:shortstr',
  'basic.publish': 'ticket:short exchange:shortstr routingKey:shortstr mandatory:bit immediate:bit',
  'basic.return': 'replyCode:short replyText:shortstr exchange:shortstr routingKey:shortstr',
  'basic.deliver': 'consumerTag:shortstr deliveryTag:longlong redelivered:bit exchange:shortstr routingKey:shortstr',
  'basic.get': 'ticket:short queue:shortstr noAck:bit',
  'basic.get-ok': 'deliveryTag:longlong redelivered:bit exchange:shortstr routingKey:shortstr messageCount:long',
  'basic.get-empty': 'clusterId:shortstr',
  'basic.ack': 'deliveryTag:longlong multiple:bit',
  'basic.reject': 'deliveryTag:longlong requeue:bit',
  'basic.recover-async': 'requeue:bit',
  'basic.recover': 'requeue:bit',
  'basic.recover-ok': '',
  'basic.nack': 'deliveryTag:longlong multiple:bit requeue:bit',
  'confirm.select': 'nowait:bit',
  'confirm.select-ok': '',
  'tx.select': '',
  'tx.select-ok': '',
  'tx.commit': '',
  'tx.commit-ok': '',
  'tx.rollback': '',
  'tx.rollback-ok': '',
};

export interface MethodSpec {
  name: string;
  classId: number;
  methodId: number;
  fields: { name: string; type: FieldType }[];
}

/** Every method the broker's codec knows, with its argument list. */
export const METHODS: MethodSpec[] = [...METHOD_INFO.values()].map((info) => {
  const schema = SCHEMA[info.name];
  if (schema === undefined) throw new Error(`fuzz schema misses ${info.name}`);
  const fields = schema === '' ? [] : schema.split(' ').map((f) => {
    const [name, type] = f.split(':');
    return { name, type: type as FieldType };
  });
  return { name: info.name, classId: info.classId, methodId: info.methodId, fields };
});
export const METHOD_BY_NAME = new Map(METHODS.map((m) => [m.name, m]));

/** What the session knows, so arguments can name real queues, consumer tags and delivery tags. */
export interface ArgContext {
  declaredQueues: string[];
  consumerTags: string[];
  deliveryTags: number[];
  /** Probability that an argument is drawn from anything its type allows rather than plausible values. */
  chaos: number;
}

export type ArgValue = number | bigint | boolean | Buffer;

/** A random value for one argument; the field name selects a plausible generator, the type bounds it. */
function argValue(rng: Rng, method: string, name: string, type: FieldType, ctx: ArgContext): ArgValue {
  const plausible = !rng.chance(ctx.chaos);
  switch (type) {
    case 'bit':
      if (name === 'nowait' || name === 'passive' || name === 'immediate' || name === 'ifUnused' || name === 'ifEmpty') return rng.chance(0.15);
      if (name === 'requeue' && method.startsWith('basic.recover')) return rng.chance(0.8);
      if (name === 'active') return rng.chance(0.85);
      return rng.chance(0.4);
    case 'octet':
      return u8Value(rng);
    case 'short':
      if (name === 'ticket') return plausible ? 0 : u16Value(rng);
      if (name === 'prefetchCount') return plausible ? rng.pick([0, 1, 2, 10]) : u16Value(rng);
      if (name === 'replyCode') return rng.pick([200, 320, 406, 541, 0, 65535]);
      return u16Value(rng);
    case 'long':
      if (name === 'prefetchSize') return plausible ? 0 : u32Value(rng);
      return u32Value(rng);
    case 'longlong':
      if (name === 'deliveryTag') {
        if (plausible && ctx.deliveryTags.length > 0) return BigInt(rng.pick(ctx.deliveryTags));
        return rng.chance(0.5) ? BigInt(rng.int(0, 5)) : u64Value(rng);
      }
      return u64Value(rng);
    case 'timestamp':
      return u64Value(rng);
    case 'shortstr':
      if (!plausible) return randomShortBytes(rng);
      switch (name) {
        case 'queue':
          return queueName(rng, ctx.declaredQueues);
        case 'exchange':
        case 'source':
        case 'destination':
          return exchangeName(rng);
        case 'routingKey':
          return routingKey(rng);
        case 'type':
          return Buffer.from(rng.chance(0.9) ? rng.pick(EXCHANGE_TYPES) : rng.pick(['x-consistent-hash', 'x-delayed-message', 'DIRECT', '']));
        case 'consumerTag':
          return Buffer.from(ctx.consumerTags.length > 0 && rng.chance(0.6) ? rng.pick(ctx.consumerTags) : rng.pick(['', 'ctag', 'fz.ctag.1']));
        case 'virtualHost':
          return Buffer.from(rng.pick(['/', '', 'nope']));
        default:
          return randomShortBytes(rng);
      }
    case 'longstr':
      return rng.chance(0.8) ? randomShortBytes(rng) : rng.bytes(rng.int(0, 2000));
    case 'table':
      if (!plausible) return randomTable(rng);
      if (method === 'queue.declare') return xArguments(rng, 'queue');
      if (method === 'basic.consume') return xArguments(rng, 'consume');
      if (method === 'exchange.declare') return xArguments(rng, 'exchange');
      if (method.endsWith('bind')) return xArguments(rng, 'binding');
      return randomTable(rng);
  }
}

/** Encodes arguments in schema order; consecutive bits share octets (amqp 0-9-1 §4.2.5.2). */
export function encodeArgs(spec: MethodSpec, values: Record<string, ArgValue>): Buffer {
  const parts: Buffer[] = [];
  let bits: number[] | null = null;
  const flushBits = () => {
    if (bits) parts.push(Buffer.from([bits.reduce((acc, b, i) => acc | (b << i), 0)]));
    bits = null;
  };
  for (const f of spec.fields) {
    const v = values[f.name];
    if (f.type === 'bit') {
      bits ??= [];
      bits.push(v ? 1 : 0);
      if (bits.length === 8) flushBits();
      continue;
    }
    flushBits();
    switch (f.type) {
      case 'octet':
        parts.push(Buffer.from([Number(v) & 0xff]));
        break;
      case 'short':
        parts.push(u16(Number(v) & 0xffff));
        break;
      case 'long':
        parts.push(u32(Number(v) >>> 0));
        break;
      case 'longlong':
      case 'timestamp': {
        const b = Buffer.alloc(8);
        b.writeBigUInt64BE(BigInt.asUintN(64, BigInt(v as number | bigint)));
        parts.push(b);
        break;
      }
      case 'shortstr':
        parts.push(shortstrBytes(v as Buffer));
        break;
      case 'longstr': {
        const b = v as Buffer;
        parts.push(u32(b.length), b);
        break;
      }
      case 'table':
        parts.push(v as Buffer);
        break;
    }
  }
  flushBits();
  return Buffer.concat(parts);
}

/** Random arguments for a method; `overrides` pins some of them. */
export function randomArgs(rng: Rng, spec: MethodSpec, ctx: ArgContext, overrides: Record<string, ArgValue> = {}): Record<string, ArgValue> {
  const values: Record<string, ArgValue> = {};
  for (const f of spec.fields) values[f.name] = f.name in overrides ? overrides[f.name] : argValue(rng, spec.name, f.name, f.type, ctx);
  return values;
}

export function methodBytes(channel: number, spec: MethodSpec, values: Record<string, ArgValue>): Buffer {
  return methodFrame(channel, spec.classId, spec.methodId, encodeArgs(spec, values));
}

/** A readable one-line rendering of arguments for the replay log. */
export function describeArgs(spec: MethodSpec, values: Record<string, ArgValue>): string {
  return spec.fields
    .map((f) => {
      const v = values[f.name];
      if (Buffer.isBuffer(v)) {
        if (f.type === 'table') return `${f.name}=<table ${v.length}B ${v.subarray(0, 48).toString('hex')}${v.length > 48 ? '…' : ''}>`;
        const printable = /^[\x20-\x7e]*$/.test(v.toString('latin1'));
        return `${f.name}=${printable ? JSON.stringify(v.toString('latin1')) : `hex:${v.subarray(0, 32).toString('hex')}${v.length > 32 ? `…(${v.length}B)` : ''}`}`;
      }
      return `${f.name}=${String(v)}`;
    })
    .join(' ');
}

// ---- content ----------------------------------------------------------------------------------------------

/** Raw basic properties: a flags word and values, sometimes with reserved or continuation bits set. */
export function randomProperties(rng: Rng): Buffer {
  if (rng.chance(0.3)) return Buffer.from([0, 0]);
  if (rng.chance(0.05)) return Buffer.concat([u16(rng.int(0, 0xffff)), rng.bytes(rng.int(0, 30))]);
  let flags = 0;
  const parts: Buffer[] = [];
  const add = (bit: number, value: () => Buffer) => {
    if (rng.chance(0.35)) {
      flags |= bit;
      parts.push(value());
    }
  };
  add(0x8000, () => shortstrBytes(rng.pick(['text/plain', 'application/json', '']))); // content-type
  add(0x4000, () => shortstrBytes(randomShortBytes(rng))); // content-encoding
  add(0x2000, () => headersTable(rng)); // headers
  add(0x1000, () => Buffer.from([rng.pick([1, 2, 2, 0, 3, 255])])); // delivery-mode
  add(0x0800, () => Buffer.from([rng.pick([0, 1, 5, 9, 10, 11, 255])])); // priority
  add(0x0400, () => shortstrBytes(randomShortBytes(rng))); // correlation-id
  add(0x0200, () => shortstrBytes(rng.pick(['amq.rabbitmq.reply-to', 'fz.q.0', '', 'amq.rabbitmq.reply-to.bogus']))); // reply-to
  add(0x0100, () => shortstrBytes(rng.pick(['0', '1', '100', '60000', '-1', 'abc', '', '1.5', '99999999999999999999', ' 5']))); // expiration
  add(0x0080, () => shortstrBytes(randomShortBytes(rng))); // message-id
  add(0x0040, () => { // timestamp
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(u64Value(rng));
    return b;
  });
  add(0x0020, () => shortstrBytes(randomShortBytes(rng))); // type
  add(0x0010, () => shortstrBytes(rng.pick(['guest', 'other', '']))); // user-id
  add(0x0008, () => shortstrBytes(randomShortBytes(rng))); // app-id
  add(0x0004, () => shortstrBytes(randomShortBytes(rng))); // cluster-id (deprecated)
  if (rng.chance(0.03)) flags |= rng.pick([0x0001, 0x0002]); // continuation / reserved bit
  const raw = Buffer.concat([u16(flags), ...parts]);
  // Sometimes the properties end early: the header announces more than it carries.
  return rng.chance(0.04) && raw.length > 2 ? raw.subarray(0, rng.int(2, raw.length - 1)) : raw;
}

/** Message headers that matter to the broker: CC/BCC routing, x-match-style keys, x-death, plus noise. */
function headersTable(rng: Rng): Buffer {
  if (rng.chance(0.3)) return randomTable(rng);
  const entries: [string, Buffer][] = [];
  if (rng.chance(0.3)) entries.push(['CC', rng.chance(0.7) ? arrayOfStrings(rng) : fieldValue(rng, 0)]);
  if (rng.chance(0.3)) entries.push(['BCC', rng.chance(0.7) ? arrayOfStrings(rng) : fieldValue(rng, 0)]);
  if (rng.chance(0.4)) entries.push(['a', rng.chance(0.5) ? longstrValue(rng.pick(['1', 'b'])) : fieldValue(rng, 0)]);
  if (rng.chance(0.4)) entries.push(['key', fieldValue(rng, 0)]);
  if (rng.chance(0.2)) entries.push(['x-death', fieldValue(rng, 0, rng.pick(['A', 'F', 'S']))]);
  if (rng.chance(0.1)) entries.push(['x-delay', intField(rng.int(-1, 1000))]);
  return tableOf(entries);
}

function arrayOfStrings(rng: Rng): Buffer {
  const items = Array.from({ length: rng.int(0, 3) }, () => longstrValue(rng.pick(['fz.q.0', 'fz.q.1', 'a', '#', ''])));
  const body = Buffer.concat(items);
  return Buffer.concat([Buffer.from('A'), u32(body.length), body]);
}

export function headerFrame(channel: number, classId: number, bodySize: bigint, properties: Buffer): Buffer {
  const size = Buffer.alloc(8);
  size.writeBigUInt64BE(BigInt.asUintN(64, bodySize));
  return frame(FRAME_HEADER, channel, Buffer.concat([u16(classId), u16(0), size, properties]));
}

export function bodyFrameBytes(channel: number, body: Buffer): Buffer {
  return frame(FRAME_BODY, channel, body);
}

export function heartbeatOn(channel: number): Buffer {
  return frame(FRAME_HEARTBEAT, channel, Buffer.alloc(0));
}

// ---- mutations --------------------------------------------------------------------------------------------

export type Mutation = 'flip' | 'truncate' | 'frame-end' | 'size' | 'type';

/** A damaged copy of an encoded frame and a label of what was done to it. */
export function mutate(rng: Rng, bytes: Buffer): { bytes: Buffer; what: string } {
  const b = Buffer.from(bytes);
  const kind = rng.pick<Mutation>(['flip', 'flip', 'truncate', 'frame-end', 'size', 'type']);
  switch (kind) {
    case 'flip': {
      const n = rng.int(1, 3);
      const at: number[] = [];
      for (let i = 0; i < n; i++) {
        // Prefer the payload: the method's arguments are what the decoders must survive.
        const pos = b.length > 12 && rng.chance(0.8) ? rng.int(7, b.length - 2) : rng.int(0, b.length - 1);
        b[pos] ^= 1 << rng.int(0, 7);
        at.push(pos);
      }
      return { bytes: b, what: `flip bits at ${at.join(',')}` };
    }
    case 'truncate': {
      const len = rng.int(0, b.length - 1);
      return { bytes: b.subarray(0, len), what: `truncate to ${len} of ${b.length}` };
    }
    case 'frame-end': {
      const v = rng.pick([0, 0xcd, 0xcf, 0xff, 0x41]);
      b[b.length - 1] = v;
      return { bytes: b, what: `frame-end 0x${v.toString(16)}` };
    }
    case 'size': {
      const size = b.readUInt32BE(3);
      const v = rng.pick([0, size - 1, size + 1, size + 8, 0x7fffffff, 0xffffffff, 131072, 131065]) >>> 0;
      b.writeUInt32BE(v, 3);
      return { bytes: b, what: `size field ${size} -> ${v}` };
    }
    case 'type': {
      const v = rng.pick([0, 4, 5, 7, 9, 65, 206, 255, 1, 2, 3, 8]);
      b[0] = v;
      return { bytes: b, what: `frame type -> ${v}` };
    }
  }
}

export { FRAME_END };
