// Seeded randomness and the value generators of the protocol fuzzer: strings, numbers, field tables and
// RabbitMQ x-arguments. Everything here is a pure function of the PRNG, so a seed replays a run exactly.

/** mulberry32: a tiny, fast, seedable 32-bit PRNG; good enough for fuzzing, never for cryptography. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** Picks by weight: [[weight, value], ...]. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of choices) total += w;
    let r = this.next() * total;
    for (const [w, v] of choices) {
      r -= w;
      if (r < 0) return v;
    }
    return choices[choices.length - 1][1];
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256);
    return b;
  }
}

/** A 32-bit seed for connection `index` of a run, so one connection can be replayed alone. */
export function deriveSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Names shared by every connection of a run, so later connections meet what earlier ones declared. */
export const QUEUE_POOL = ['fz.q.0', 'fz.q.1', 'fz.q.2', 'fz.q.3', 'fz.q.dlx', 'fz.q.prio', 'fz.q.sac'];
export const EXCHANGE_POOL = ['fz.x.direct', 'fz.x.topic', 'fz.x.fanout', 'fz.x.headers', 'fz.x.ae', 'fz.x.dlx'];
export const BUILTIN_EXCHANGES = ['', 'amq.direct', 'amq.topic', 'amq.fanout', 'amq.headers', 'amq.match'];
export const EXCHANGE_TYPES = ['direct', 'topic', 'fanout', 'headers'];
const ROUTING_KEYS = ['', 'a', 'a.b', 'a.b.c', '#', '*', '*.b', 'a.#', '#.#', 'fz.q.0', 'fz.q.1', 'fz.q.dlx', 'amq.rabbitmq.reply-to'];

/** Strings as raw bytes, so non-UTF-8 and exactly-255-byte values can be sent. */
export function randomShortBytes(rng: Rng): Buffer {
  return rng.weighted<() => Buffer>([
    [3, () => Buffer.alloc(0)],
    [4, () => Buffer.from(rng.pick(['a', 'x', 'fz', 'test', 'amq.', 'amq.gen-abc', 'amq.rabbitmq.reply-to', 'amq.direct']))],
    [2, () => Buffer.alloc(255, rng.pick(['a', '.', '#', '\u0000']))],
    [2, () => Buffer.from([0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80].slice(0, rng.int(1, 7)))],
    [1, () => Buffer.from('a\r\nb')],
    [1, () => Buffer.from('ünïcødé→☃')],
    [2, () => rng.bytes(rng.int(1, 40))],
    [2, () => Buffer.from(asciiWord(rng, rng.int(1, 20)))],
  ])();
}

function asciiWord(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(rng.int(0x21, 0x7e));
  return s;
}

export function queueName(rng: Rng, declared: readonly string[]): Buffer {
  return rng.weighted<() => Buffer>([
    [10, () => Buffer.from(rng.pick(QUEUE_POOL))],
    [4, () => Buffer.from(declared.length > 0 ? rng.pick(declared) : rng.pick(QUEUE_POOL))],
    [1, () => Buffer.alloc(0)],
    [2, () => randomShortBytes(rng)],
  ])();
}

export function exchangeName(rng: Rng): Buffer {
  return rng.weighted<() => Buffer>([
    [10, () => Buffer.from(rng.pick(EXCHANGE_POOL))],
    [4, () => Buffer.from(rng.pick(BUILTIN_EXCHANGES))],
    [2, () => randomShortBytes(rng)],
  ])();
}

export function routingKey(rng: Rng): Buffer {
  return rng.chance(0.85) ? Buffer.from(rng.pick(ROUTING_KEYS)) : randomShortBytes(rng);
}

// ---- numbers ----------------------------------------------------------------------------------------------

export function u8Value(rng: Rng): number {
  return rng.chance(0.5) ? rng.pick([0, 1, 2, 9, 10, 127, 128, 255]) : rng.int(0, 255);
}

export function u16Value(rng: Rng): number {
  return rng.chance(0.5) ? rng.pick([0, 1, 2, 255, 256, 2047, 2048, 32767, 32768, 65535]) : rng.int(0, 65535);
}

export function u32Value(rng: Rng): number {
  return rng.chance(0.5) ? rng.pick([0, 1, 2, 10, 0x7fffffff, 0x80000000, 0xffffffff]) : rng.int(0, 0xffffffff);
}

export function u64Value(rng: Rng): bigint {
  return rng.chance(0.6)
    ? rng.pick([0n, 1n, 2n, 3n, 100n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n])
    : BigInt(rng.int(0, 0xffffffff)) * BigInt(rng.int(0, 0xffffffff));
}

// ---- field tables -----------------------------------------------------------------------------------------

/** Field types as RabbitMQ spells them (s = int16, l = int64; see src/protocol/field-table.ts). */
const FIELD_TAGS = 'tbBsuIilLfdDSxATFV';

function i64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt.asIntN(64, v));
  return b;
}

/** One encoded field value (tag byte + value) of the given tag, or of a random tag. */
export function fieldValue(rng: Rng, depth: number, tag = rng.pick([...FIELD_TAGS])): Buffer {
  const t = Buffer.from(tag, 'latin1');
  const b = (n: number) => Buffer.alloc(n);
  switch (tag) {
    case 't':
      return Buffer.concat([t, Buffer.from([rng.pick([0, 1, 2, 255])])]);
    case 'b': {
      const v = b(1);
      v.writeInt8(rng.pick([-128, -1, 0, 1, 5, 127]));
      return Buffer.concat([t, v]);
    }
    case 'B':
      return Buffer.concat([t, Buffer.from([u8Value(rng)])]);
    case 's': {
      const v = b(2);
      v.writeInt16BE(rng.pick([-32768, -1, 0, 1, 10, 255, 32767]));
      return Buffer.concat([t, v]);
    }
    case 'u': {
      const v = b(2);
      v.writeUInt16BE(u16Value(rng));
      return Buffer.concat([t, v]);
    }
    case 'I': {
      const v = b(4);
      v.writeInt32BE(intValue(rng));
      return Buffer.concat([t, v]);
    }
    case 'i': {
      const v = b(4);
      v.writeUInt32BE(u32Value(rng));
      return Buffer.concat([t, v]);
    }
    case 'l':
    case 'L':
      return Buffer.concat([t, i64(rng.chance(0.5) ? BigInt(intValue(rng)) : u64Value(rng))]);
    case 'f': {
      const v = b(4);
      v.writeFloatBE(rng.pick([0, -0, 1.5, -1, NaN, Infinity, -Infinity, 3.4e38, 1e-45]));
      return Buffer.concat([t, v]);
    }
    case 'd': {
      const v = b(8);
      v.writeDoubleBE(rng.pick([0, -0, 0.5, 1000.25, -1, NaN, Infinity, -Infinity, 1e308, 5e-324, 2 ** 53 + 2]));
      return Buffer.concat([t, v]);
    }
    case 'D': {
      const v = b(5);
      v[0] = u8Value(rng);
      v.writeInt32BE(intValue(rng), 1);
      return Buffer.concat([t, v]);
    }
    case 'S':
    case 'x': {
      const s = rng.chance(0.7) ? randomShortBytes(rng) : rng.bytes(rng.int(0, 600));
      const len = b(4);
      len.writeUInt32BE(s.length);
      return Buffer.concat([t, len, s]);
    }
    case 'T':
      return Buffer.concat([t, i64(u64Value(rng))]);
    case 'F':
      return Buffer.concat([t, randomTable(rng, depth + 1)]);
    case 'A':
      return Buffer.concat([t, randomArray(rng, depth + 1)]);
    case 'V':
      return t;
    default:
      // An unknown tag (never produced by pick above, but callers may pass one on purpose).
      return Buffer.concat([t, rng.bytes(rng.int(0, 4))]);
  }
}

function intValue(rng: Rng): number {
  return rng.chance(0.6) ? rng.pick([-2147483648, -1000, -1, 0, 1, 2, 10, 100, 1000, 60000, 2147483647]) : rng.int(-2147483648, 2147483647);
}

function withLength(body: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

export function shortstrBytes(s: Buffer | string): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  const cut = b.subarray(0, 255);
  return Buffer.concat([Buffer.from([cut.length]), cut]);
}

/** A random field table (length-prefixed), nested up to three levels deep. */
export function randomTable(rng: Rng, depth = 0): Buffer {
  const n = depth > 2 ? rng.int(0, 1) : rng.int(0, 5);
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    parts.push(shortstrBytes(rng.chance(0.7) ? Buffer.from(rng.pick(['a', 'x-match', 'CC', 'BCC', 'key', '', 'x-death', 'x-priority'])) : randomShortBytes(rng)));
    parts.push(fieldValue(rng, depth));
  }
  return withLength(Buffer.concat(parts));
}

function randomArray(rng: Rng, depth: number): Buffer {
  const n = depth > 2 ? rng.int(0, 1) : rng.int(0, 5);
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) parts.push(fieldValue(rng, depth));
  return withLength(Buffer.concat(parts));
}

/** A table built from [key, encoded value] pairs. */
export function tableOf(entries: [string, Buffer][]): Buffer {
  return withLength(Buffer.concat(entries.flatMap(([k, v]) => [shortstrBytes(k), v])));
}

export function longstrValue(s: string): Buffer {
  return Buffer.concat([Buffer.from('S'), withLength(Buffer.from(s, 'utf8'))]);
}

export function intField(v: number): Buffer {
  const b = Buffer.alloc(5);
  b.write('I', 0, 'latin1');
  b.writeInt32BE(v, 1);
  return b;
}

// ---- x-arguments ------------------------------------------------------------------------------------------

type ArgKind = 'queue' | 'consume' | 'exchange' | 'binding';

/** A plausible value for a RabbitMQ argument (right type, plausible or edge range). */
function plausibleArg(rng: Rng, name: string): Buffer {
  const num = (lo: number, hi: number) => (rng.chance(0.8) ? intField(rng.int(lo, hi)) : fieldValue(rng, 0, rng.pick(['l', 'b', 's', 'u', 'B', 'i'])));
  switch (name) {
    case 'x-message-ttl':
      return num(rng.pick([-5, 0, 0, 1]), rng.pick([0, 50, 100000]));
    case 'x-expires':
      return num(rng.pick([-1, 0, 1]), rng.pick([1, 200, 100000]));
    case 'x-max-length':
      return num(rng.pick([-1, 0]), rng.pick([0, 1, 3, 10]));
    case 'x-max-length-bytes':
      return num(rng.pick([-1, 0]), rng.pick([0, 10, 1000]));
    case 'x-overflow':
      return longstrValue(rng.pick(['drop-head', 'reject-publish', 'reject-publish-dlx', 'bogus', '']));
    case 'x-dead-letter-exchange':
      return longstrValue(rng.pick(['fz.x.dlx', '', 'amq.direct', 'fz.x.missing', 'fz.x.fanout']));
    case 'x-dead-letter-routing-key':
      return longstrValue(rng.pick(['fz.q.dlx', 'fz.q.0', '', '#']));
    case 'x-max-priority':
      return num(rng.pick([-1, 0, 1]), rng.pick([1, 10, 255, 256, 70000]));
    case 'x-single-active-consumer':
      return rng.chance(0.8) ? Buffer.from([0x74, rng.int(0, 1)]) : longstrValue('true');
    case 'x-queue-type':
      return longstrValue(rng.pick(['classic', 'quorum', 'stream', 'bogus', '']));
    case 'x-queue-mode':
      return longstrValue(rng.pick(['lazy', 'default', 'bogus']));
    case 'x-priority':
      return num(-10, 10);
    case 'alternate-exchange':
      return longstrValue(rng.pick(['fz.x.ae', 'fz.x.fanout', 'fz.x.missing', '', 'amq.fanout']));
    case 'x-match':
      return longstrValue(rng.pick(['all', 'any', 'all-with-x', 'any-with-x', 'bogus', '']));
    case 'x-consumer-timeout':
    case 'x-delivery-limit':
      return num(-1, 1000);
    default:
      return fieldValue(rng, 0);
  }
}

const QUEUE_ARGS = [
  'x-message-ttl', 'x-expires', 'x-max-length', 'x-max-length-bytes', 'x-overflow', 'x-dead-letter-exchange',
  'x-dead-letter-routing-key', 'x-max-priority', 'x-single-active-consumer', 'x-queue-type', 'x-queue-mode',
  'x-delivery-limit', 'x-consumer-timeout',
];
const ARG_NAMES: Record<ArgKind, string[]> = {
  queue: QUEUE_ARGS,
  consume: ['x-priority', 'x-cancel-on-ha-failover', 'x-stream-offset'],
  exchange: ['alternate-exchange', 'x-message-ttl'],
  binding: ['x-match', 'a', 'key', 'x-other'],
};

/** x-arguments for a method: RabbitMQ's names with plausible values, random-typed values, or a random table. */
export function xArguments(rng: Rng, kind: ArgKind): Buffer {
  return rng.weighted<() => Buffer>([
    [3, () => tableOf([])],
    [8, () => {
      const n = rng.int(1, 4);
      const entries: [string, Buffer][] = [];
      for (let i = 0; i < n; i++) {
        const name = rng.pick(ARG_NAMES[kind]);
        entries.push([name, rng.chance(0.75) ? plausibleArg(rng, name) : fieldValue(rng, 0)]);
      }
      return tableOf(entries);
    }],
    [1, () => randomTable(rng)],
  ])();
}

// ---- stable definitions of the pooled names -------------------------------------------------------------

const bool = (v: boolean) => Buffer.from([0x74, v ? 1 : 0]);

/**
 * How plausible sessions declare the pooled queues: always the same way, so redeclares are equivalent and
 * the queues live long enough to hold messages, dead-letter them, expire them and deliver them.
 */
export const QUEUE_DEFS: Record<string, { durable: boolean; args: () => Buffer }> = {
  'fz.q.0': { durable: true, args: () => tableOf([]) },
  'fz.q.1': { durable: false, args: () => tableOf([['x-max-length', intField(5)], ['x-overflow', longstrValue('reject-publish-dlx')], ['x-dead-letter-exchange', longstrValue('fz.x.dlx')]]) },
  'fz.q.2': { durable: false, args: () => tableOf([['x-message-ttl', intField(30)], ['x-dead-letter-exchange', longstrValue('fz.x.dlx')], ['x-dead-letter-routing-key', longstrValue('fz.q.dlx')]]) },
  'fz.q.3': { durable: true, args: () => tableOf([['x-max-length-bytes', intField(100)], ['x-overflow', longstrValue('drop-head')], ['x-dead-letter-exchange', longstrValue('fz.x.topic')]]) },
  'fz.q.dlx': { durable: false, args: () => tableOf([['x-max-length', intField(50)]]) },
  'fz.q.prio': { durable: false, args: () => tableOf([['x-max-priority', intField(10)]]) },
  'fz.q.sac': { durable: false, args: () => tableOf([['x-single-active-consumer', bool(true)], ['x-dead-letter-exchange', longstrValue('fz.x.dlx')]]) },
};

export const EXCHANGE_DEFS: Record<string, { type: string; args: () => Buffer }> = {
  'fz.x.direct': { type: 'direct', args: () => tableOf([['alternate-exchange', longstrValue('fz.x.ae')]]) },
  'fz.x.topic': { type: 'topic', args: () => tableOf([]) },
  'fz.x.fanout': { type: 'fanout', args: () => tableOf([]) },
  'fz.x.headers': { type: 'headers', args: () => tableOf([]) },
  'fz.x.ae': { type: 'fanout', args: () => tableOf([]) },
  'fz.x.dlx': { type: 'fanout', args: () => tableOf([]) },
};
