// One fuzzing connection: the handshake, then a random but mostly plausible sequence of frames (channel.open
// first, then declares, binds, publishes with content, consumes, acks of tags really delivered, tx, confirms),
// interleaved with arbitrary methods, heartbeats on random channels and damaged frames. A reader records what
// the broker answers, closes channels the broker closed, and notes every reply that breaks the promise.
import { asMethod, parseClose, RawClient, Reader, methods, type Frame } from '../helpers/raw-amqp';
import { EXCHANGE_DEFS, EXCHANGE_POOL, QUEUE_DEFS, QUEUE_POOL, Rng, xArguments } from './fuzz-random';
import {
  bodyFrameBytes, describeArgs, headerFrame, heartbeatOn, METHOD_BY_NAME, METHODS, methodBytes, mutate,
  randomArgs, randomProperties, type ArgContext, type ArgValue,
} from './fuzz-frames';

export interface Problem {
  kind: 'internal-error-reply' | 'bad-server-frame' | 'hang' | 'handshake-failed';
  detail: string;
}

export interface SessionResult {
  index: number;
  seed: number;
  localPort: number;
  /** Human-readable log of what was sent, one line per step. */
  steps: string[];
  /** Every byte sent after the handshake, in order: the exact replay. */
  sent: Buffer[];
  problems: Problem[];
  /**
   * A publishing connection that did not get close-ok in time: not judged a bug, because the broker may
   * legitimately stop reading a publisher (flow control towards a slow consumer, resource alarms).
   */
  slowPublisherClose: boolean;
  sentMethods: Map<string, number>;
  serverMethods: Map<string, number>;
  closeCodes: Map<string, number>;
}

const METHOD_NAMES = new Map(METHODS.map((m) => [(m.classId << 16) | m.methodId, m.name]));
/** Replies to client methods that mean the method reached its handler and succeeded. */
const SYNC_METHODS = new Set(METHODS.filter((m) => m.fields.every((f) => f.name !== 'nowait') && /(declare|bind|unbind|purge|delete|qos|consume|cancel|get|recover|select|commit|rollback|open|flow|request)$/.test(m.name)).map((m) => m.name));

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

interface ChannelState {
  deliveryTags: number[];
  consumerTags: string[];
}

export interface SessionOptions {
  index: number;
  seed: number;
  port: number;
  /** Frames per connection: [min, max]. */
  steps?: [number, number];
}

/** Runs one fuzzing connection to the end and reports what happened. */
export async function runSession(opts: SessionOptions): Promise<SessionResult> {
  const rng = new Rng(opts.seed);
  const result: SessionResult = {
    index: opts.index,
    seed: opts.seed,
    localPort: 0,
    steps: [],
    sent: [],
    problems: [],
    slowPublisherClose: false,
    sentMethods: new Map(),
    serverMethods: new Map(),
    closeCodes: new Map(),
  };
  const client = await RawClient.connect(opts.port);
  result.localPort = client.socket.localPort ?? 0;
  try {
    await client.handshake({ heartbeat: 0 });
  } catch (err) {
    result.problems.push({ kind: 'handshake-failed', detail: String(err) });
    client.destroy();
    return result;
  }
  const session = new Session(rng, client, result);
  try {
    await session.run(opts.steps ?? [5, 50]);
  } finally {
    client.destroy();
  }
  return result;
}

class Session {
  private readonly open = new Map<number, ChannelState>();
  private readonly declaredQueues: string[] = [];
  private serverClosed = false;
  private gotCloseOk = false;
  /** Set once bytes that may desynchronise the frame stream were sent: a silent broker is then fine. */
  private desynced = false;
  private frameCount = 0;
  private wakers: Array<() => void> = [];
  private readonly pump: Promise<void>;
  /** How wild this session is: the share of arbitrary arguments, methods, channels and damaged frames. */
  private readonly chaos: number;
  /** The queue (and exchange + key routing to it) this session mostly works with, as an application would. */
  private focusQueue: string | undefined;
  private focusExchange: string | undefined;
  private focusKey = '';

  constructor(
    private readonly rng: Rng,
    private readonly client: RawClient,
    private readonly result: SessionResult,
  ) {
    this.pump = this.readLoop();
    this.chaos = rng.pick([0, 0.01, 0.03, 0.08, 0.2, 0.4]);
    result.steps.push(`chaos ${this.chaos}`);
  }

  async run([min, max]: [number, number]): Promise<void> {
    const n = this.rng.int(min, max);
    // Plausible start: most sessions open a channel or two before anything else.
    if (this.rng.chance(0.9)) await this.openChannel(1);
    if (this.rng.chance(0.3)) await this.openChannel(this.rng.int(2, 4));
    if (this.open.size > 0 && this.rng.chance(0.7)) await this.prelude();
    for (let i = 0; i < n && !this.serverClosed && !this.client.closed; i++) {
      await this.step();
    }
    await this.finish();
  }

  // ---- reading ------------------------------------------------------------------------------------------

  private async readLoop(): Promise<void> {
    for (;;) {
      let f: Frame | undefined;
      try {
        f = await this.client.nextFrame(600_000);
      } catch (err) {
        this.result.problems.push({ kind: 'bad-server-frame', detail: String(err) });
        this.client.destroy();
        f = undefined;
      }
      this.frameCount++;
      const w = this.wakers;
      this.wakers = [];
      for (const wake of w) wake();
      if (!f) return;
      this.onServerFrame(f);
    }
  }

  private onServerFrame(f: Frame): void {
    const m = asMethod(f);
    if (!m) return;
    const name = METHOD_NAMES.get((m.classId << 16) | m.methodId) ?? `${m.classId}/${m.methodId}`;
    bump(this.result.serverMethods, name);
    const r = new Reader(m.args);
    try {
      switch (name) {
        case 'connection.close': {
          const c = parseClose(m);
          bump(this.result.closeCodes, `connection ${c.replyCode} ${c.replyText.replace(/\d+|'[^']*'/g, "_").slice(0, 60)}`);
          if (c.replyCode === 541) this.result.problems.push({ kind: 'internal-error-reply', detail: `connection.close ${c.replyCode} ${c.replyText} (class ${c.classId} method ${c.methodId})` });
          this.serverClosed = true;
          this.client.write(methods.connectionCloseOk());
          return;
        }
        case 'connection.close-ok':
          this.gotCloseOk = true;
          return;
        case 'channel.close': {
          const c = parseClose(m);
          bump(this.result.closeCodes, `channel ${c.replyCode} ${c.replyText.replace(/\d+|'[^']*'/g, "_").slice(0, 60)}`);
          if (c.replyCode === 541) this.result.problems.push({ kind: 'internal-error-reply', detail: `channel ${f.channel} close ${c.replyCode} ${c.replyText} (class ${c.classId} method ${c.methodId})` });
          this.open.delete(f.channel);
          this.client.write(methods.channelCloseOk(f.channel));
          return;
        }
        case 'channel.close-ok':
          this.open.delete(f.channel);
          return;
        case 'channel.open-ok':
          if (!this.open.has(f.channel)) this.open.set(f.channel, { deliveryTags: [], consumerTags: [] });
          return;
        case 'basic.deliver': {
          r.shortstr();
          this.open.get(f.channel)?.deliveryTags.push(Number(r.u64()));
          return;
        }
        case 'basic.get-ok':
          this.open.get(f.channel)?.deliveryTags.push(Number(r.u64()));
          return;
        case 'basic.consume-ok':
          this.open.get(f.channel)?.consumerTags.push(r.shortstr());
          return;
        case 'queue.declare-ok': {
          const q = r.shortstr();
          if (!this.declaredQueues.includes(q)) this.declaredQueues.push(q);
          return;
        }
      }
    } catch (err) {
      this.result.problems.push({ kind: 'bad-server-frame', detail: `${name} undecodable: ${String(err)}` });
    }
  }

  /** Resolves at the next frame from the broker (or socket close), or after ms. */
  private activity(ms: number): Promise<void> {
    return new Promise((ok) => {
      const timer = setTimeout(ok, ms);
      this.wakers.push(() => {
        clearTimeout(timer);
        ok();
      });
    });
  }

  // ---- writing ------------------------------------------------------------------------------------------

  private send(bytes: Buffer, label: string): void {
    this.result.steps.push(label);
    this.result.sent.push(bytes);
    if (this.rng.chance(0.05) && bytes.length > 2) {
      // Split the write: frames straddling socket reads take the reader's partial-frame path.
      const cut = this.rng.int(1, bytes.length - 1);
      this.client.write(bytes.subarray(0, cut));
      setTimeout(() => this.client.write(bytes.subarray(cut)), 1);
    } else {
      this.client.write(bytes);
    }
  }

  private sendMethod(channel: number, name: string, overrides: Record<string, ArgValue> = {}, mutateIt = false): Record<string, ArgValue> {
    const spec = METHOD_BY_NAME.get(name)!;
    const st = this.open.get(channel);
    const ctx: ArgContext = { declaredQueues: this.declaredQueues, consumerTags: st?.consumerTags ?? [], deliveryTags: st?.deliveryTags ?? [], chaos: this.chaos };
    const values = randomArgs(this.rng, spec, ctx, overrides);
    let bytes = methodBytes(channel, spec, values);
    let label = `ch${channel} ${name} ${describeArgs(spec, values)}`;
    if (mutateIt) {
      const m = mutate(this.rng, bytes);
      bytes = m.bytes;
      label += ` [MUTATED: ${m.what}]`;
      this.desynced = true;
    }
    bump(this.result.sentMethods, name);
    this.send(bytes, label);
    return values;
  }

  /** After a synchronous method, give the broker a moment to answer so later steps see its state. */
  private async settle(name: string, values: Record<string, ArgValue>): Promise<void> {
    if (SYNC_METHODS.has(name) || (('nowait' in values) && !values.nowait)) await this.activity(150);
    else if (this.rng.chance(0.2)) await this.activity(3);
  }

  private async openChannel(channel: number): Promise<void> {
    this.sendMethod(channel, 'channel.open', { outOfBand: Buffer.alloc(0) });
    await this.activity(150);
  }

  private pickChannel(): number {
    const open = [...this.open.keys()];
    if (open.length > 0 && !this.rng.chance(this.chaos / 2)) return this.rng.pick(open);
    return this.rng.weighted([
      [6, this.rng.int(1, 5)],
      [1, 0],
      [1, this.rng.pick([2047, 2048, 2049, 4096, 65535])],
      [1, this.rng.int(0, 65535)],
    ]);
  }

  private async step(): Promise<void> {
    const rng = this.rng;
    const c = this.chaos;
    // A channel the broker closed is reopened, as a real client would, unless the session is wild.
    if (this.open.size === 0 && !rng.chance(c)) return this.openChannel(rng.int(1, 5));
    const action = rng.weighted<string>([
      [3, 'open'],
      [8, 'queue.declare'],
      [4, 'exchange.declare'],
      [5, 'queue.bind'],
      [2, 'exchange.bind'],
      [1, 'queue.unbind'],
      [1, 'exchange.unbind'],
      [14, 'publish'],
      [5, 'basic.consume'],
      [4, 'basic.get'],
      [7, 'settle'],
      [2, 'basic.qos'],
      [1, 'basic.recover'],
      [1, 'basic.cancel'],
      [2, 'tx'],
      [2, 'confirm.select'],
      [1, 'queue.purge'],
      [1, 'queue.delete'],
      [1, 'exchange.delete'],
      [1, 'channel.flow'],
      [1, 'channel.close'],
      [12 * c, 'any-method'],
      [6 * c, 'content-out-of-place'],
      [1, 'heartbeat'],
      [6 * c, 'mutated'],
    ]);
    const ch = this.pickChannel();
    switch (action) {
      case 'open': {
        const free = [1, 2, 3, 4, 5].filter((c) => !this.open.has(c));
        const target = rng.chance(0.85) && free.length > 0 ? rng.pick(free) : this.pickChannel();
        return this.openChannel(target);
      }
      case 'publish':
        return this.publish(ch);
      case 'queue.declare':
        return this.declareQueue(ch);
      case 'basic.get':
        if (this.focusQueue !== undefined && !rng.chance(c + 0.3)) return this.maybeGet(ch);
        break;
      case 'exchange.declare':
        return this.declareExchange(ch);
      case 'settle': {
        const withTags = [...this.open.entries()].filter(([, s]) => s.deliveryTags.length > 0).map(([c]) => c);
        if (withTags.length === 0 && !rng.chance(this.chaos + 0.05)) return this.maybeGet(ch);
        const target = withTags.length > 0 && rng.chance(0.9) ? rng.pick(withTags) : ch;
        const name = rng.weighted([[5, 'basic.ack'], [3, 'basic.nack'], [2, 'basic.reject']]);
        const values = this.sendMethod(target, name);
        await this.settle(name, values);
        return;
      }
      case 'tx': {
        const name = rng.weighted([[3, 'tx.select'], [2, 'tx.commit'], [1, 'tx.rollback']]);
        await this.settle(name, this.sendMethod(ch, name));
        return;
      }
      case 'any-method': {
        const spec = rng.pick(METHODS);
        const channel = spec.classId === 10 && rng.chance(0.7) ? 0 : ch;
        await this.settle(spec.name, this.sendMethod(channel, spec.name));
        return;
      }
      case 'content-out-of-place':
        if (rng.chance(0.5)) this.send(headerFrame(ch, 60, BigInt(rng.int(0, 10)), randomProperties(rng)), `ch${ch} content header without publish`);
        else this.send(bodyFrameBytes(ch, rng.bytes(rng.int(0, 20))), `ch${ch} body frame without header`);
        await this.activity(20);
        return;
      case 'heartbeat':
        this.send(heartbeatOn(rng.chance(0.5) ? 0 : ch), `heartbeat on ch${ch}`);
        return;
      case 'mutated': {
        const spec = rng.chance(0.7) ? METHOD_BY_NAME.get(rng.pick(['queue.declare', 'basic.publish', 'exchange.declare', 'basic.consume', 'queue.bind', 'basic.ack']))! : rng.pick(METHODS);
        this.sendMethod(ch, spec.name, {}, true);
        await this.activity(50);
        return;
      }
    }
    await this.settle(action, this.sendMethod(ch, action));
  }

  /** basic.get from the focus queue, so that later acks have real tags to name. */
  private async maybeGet(ch: number): Promise<void> {
    const q = this.focusQueue ?? this.rng.pick(QUEUE_POOL);
    await this.settle('basic.get', this.sendMethod(ch, 'basic.get', { ticket: 0, queue: Buffer.from(q), noAck: this.rng.chance(0.2) }));
  }

  /** basic.publish and its content, mostly well formed, sometimes with the content wrong in one way. */
  private async publish(ch: number): Promise<void> {
    const rng = this.rng;
    const overrides: Record<string, ArgValue> = { immediate: rng.chance(0.03), mandatory: rng.chance(0.3), ticket: 0 };
    if (!rng.chance(this.chaos)) {
      if (this.focusQueue !== undefined && rng.chance(0.6)) {
        const viaExchange = this.focusExchange !== undefined && rng.chance(0.6);
        overrides.exchange = Buffer.from(viaExchange ? this.focusExchange! : '');
        overrides.routingKey = Buffer.from(viaExchange ? this.focusKey : this.focusQueue);
      } else if (rng.chance(0.4)) {
        overrides.exchange = Buffer.alloc(0);
        overrides.routingKey = Buffer.from(rng.pick([...QUEUE_POOL, ...this.declaredQueues.slice(-3), 'amq.rabbitmq.reply-to.x']));
      } else {
        overrides.exchange = Buffer.from(rng.pick(EXCHANGE_POOL));
      }
    }
    this.sendMethod(ch, 'basic.publish', overrides);
    const frameMax = 131072;
    const size = rng.weighted([
      [10, rng.int(0, 64)],
      [3, rng.int(65, 4000)],
      [1, frameMax - 8],
      [1, frameMax - 7],
      [1, rng.int(frameMax, 3 * frameMax)],
    ]);
    const shape = rng.weighted<string>([
      [20, 'ok'],
      [1, 'no-content'],
      [1, 'short-body'],
      [1, 'long-body'],
      [1, 'wrong-class'],
      [1, 'huge-size'],
      [1, 'short-header'],
      [1, 'other-channel'],
    ]);
    const props = randomProperties(rng);
    switch (shape) {
      case 'no-content':
        break;
      case 'wrong-class':
        this.send(headerFrame(ch, rng.pick([0, 10, 50, 61, 65535]), BigInt(size), props), `ch${ch} header wrong class`);
        break;
      case 'huge-size':
        this.send(headerFrame(ch, 60, rng.pick([16n * 1024n * 1024n + 1n, 2n ** 53n + 1n, 2n ** 64n - 1n]), props), `ch${ch} header huge body size`);
        break;
      case 'short-header': {
        const full = headerFrame(ch, 60, BigInt(size), props);
        const payloadLen = rng.int(0, 13);
        const payload = full.subarray(7, 7 + payloadLen);
        const head = Buffer.from(full.subarray(0, 7));
        head.writeUInt32BE(payloadLen, 3);
        this.send(Buffer.concat([head, payload, Buffer.from([0xce])]), `ch${ch} header payload of ${payloadLen} bytes`);
        break;
      }
      case 'other-channel': {
        const other = this.pickChannel();
        this.send(headerFrame(other, 60, BigInt(size), props), `ch${other} header for a publish on ch${ch}`);
        break;
      }
      default: {
        this.send(headerFrame(ch, 60, BigInt(size), props), `ch${ch} header size=${size} props=${props.toString('hex').slice(0, 80)}`);
        let bodyLen = size;
        if (shape === 'short-body') bodyLen = Math.max(0, size - rng.int(1, 10));
        if (shape === 'long-body') bodyLen = size + rng.int(1, 10);
        const body = rng.bytes(bodyLen);
        for (let off = 0; off < body.length; off += frameMax - 8) {
          const piece = body.subarray(off, Math.min(body.length, off + frameMax - 8));
          this.send(bodyFrameBytes(ch, piece), `ch${ch} body ${piece.length}B`);
        }
        if (shape === 'long-body' && body.length === 0) this.send(bodyFrameBytes(ch, rng.bytes(3)), `ch${ch} body 3B past an empty announced body`);
      }
    }
    if (rng.chance(0.3)) await this.activity(5);
  }

  /** A typical application start: declare a pooled queue (and an exchange bound to it), set qos, consume. */
  private async prelude(): Promise<void> {
    const rng = this.rng;
    const ch = this.pickChannel();
    const q = rng.pick(QUEUE_POOL);
    this.focusQueue = q;
    await this.settle('queue.declare', this.sendMethod(ch, 'queue.declare', { ticket: 0, queue: Buffer.from(q), passive: false, durable: QUEUE_DEFS[q].durable, exclusive: false, autoDelete: false, nowait: false, arguments: QUEUE_DEFS[q].args() }));
    if (rng.chance(0.6)) {
      const x = rng.pick(EXCHANGE_POOL);
      const def = EXCHANGE_DEFS[x];
      await this.settle('exchange.declare', this.sendMethod(ch, 'exchange.declare', { ticket: 0, exchange: Buffer.from(x), type: Buffer.from(def.type), passive: false, durable: false, autoDelete: false, internal: false, nowait: false, arguments: def.args() }));
      this.focusExchange = x;
      this.focusKey = def.type === 'topic' ? rng.pick(['a.b', 'a.#', '*.b', '#']) : rng.pick(['a', q, '']);
      const args = def.type === 'headers' ? xArguments(rng, 'binding') : Buffer.from([0, 0, 0, 0]);
      await this.settle('queue.bind', this.sendMethod(ch, 'queue.bind', { ticket: 0, queue: Buffer.from(q), exchange: Buffer.from(x), routingKey: Buffer.from(this.focusKey), nowait: false, arguments: args }));
      if (def.type === 'topic' && rng.chance(0.5)) this.focusKey = rng.pick(['a.b', 'a.b.c', 'x.b']);
    }
    if (rng.chance(0.5)) await this.settle('basic.qos', this.sendMethod(ch, 'basic.qos', { prefetchSize: 0, prefetchCount: rng.pick([0, 1, 3, 10]), global: rng.chance(0.3) }));
    if (rng.chance(0.7)) {
      const consumeCh = this.pickChannel();
      await this.settle('basic.consume', this.sendMethod(consumeCh, 'basic.consume', { ticket: 0, queue: Buffer.from(q), nowait: false, exclusive: rng.chance(0.1), noLocal: false, noAck: rng.chance(0.3) }));
    }
    if (rng.chance(0.3)) await this.settle('confirm.select', this.sendMethod(ch, 'confirm.select', { nowait: false }));
  }

  /** queue.declare: a pooled queue with its stable definition, a fresh name with random x-arguments, or chaos. */
  private async declareQueue(ch: number): Promise<void> {
    const rng = this.rng;
    let overrides: Record<string, ArgValue> = {};
    if (!rng.chance(this.chaos)) {
      const kind = rng.weighted([[6, 'pool'], [3, 'fresh'], [1, 'server-named']]);
      overrides = { ticket: 0, passive: rng.chance(0.05), exclusive: false, autoDelete: false, nowait: rng.chance(0.1) };
      if (kind === 'pool') {
        const name = rng.pick(QUEUE_POOL);
        overrides.queue = Buffer.from(name);
        overrides.durable = QUEUE_DEFS[name].durable;
        overrides.arguments = QUEUE_DEFS[name].args();
      } else {
        overrides.queue = kind === 'fresh' ? Buffer.from(`fz.tmp.${rng.int(0, 1e9)}`) : Buffer.alloc(0);
        overrides.exclusive = rng.chance(0.4);
        overrides.autoDelete = rng.chance(0.4);
        overrides.durable = rng.chance(0.3);
        overrides.arguments = rng.chance(0.5) ? xArguments(rng, 'queue') : Buffer.from([0, 0, 0, 0]);
      }
    }
    await this.settle('queue.declare', this.sendMethod(ch, 'queue.declare', overrides));
  }

  private async declareExchange(ch: number): Promise<void> {
    const rng = this.rng;
    let overrides: Record<string, ArgValue> = {};
    if (!rng.chance(this.chaos)) {
      const name = rng.pick(EXCHANGE_POOL);
      overrides = {
        ticket: 0, exchange: Buffer.from(name), type: Buffer.from(EXCHANGE_DEFS[name].type), passive: rng.chance(0.05),
        durable: false, autoDelete: false, internal: false, nowait: rng.chance(0.1), arguments: EXCHANGE_DEFS[name].args(),
      };
    }
    await this.settle('exchange.declare', this.sendMethod(ch, 'exchange.declare', overrides));
  }

  /** Closes politely and checks the broker still answers on channel 0. */
  private async finish(): Promise<void> {
    if (!this.serverClosed && !this.client.closed) {
      this.result.steps.push('connection.close 200');
      this.client.write(methods.connectionClose(200, 'fuzz done'));
      const deadline = Date.now() + 4000;
      while (!this.gotCloseOk && !this.client.closed && Date.now() < deadline) await this.activity(deadline - Date.now());
      if (!this.gotCloseOk && !this.client.closed && !this.desynced && (this.result.sentMethods.get('basic.publish') ?? 0) > 0) {
        this.result.slowPublisherClose = true;
      } else if (!this.gotCloseOk && !this.client.closed && !this.desynced) {
        this.result.problems.push({ kind: 'hang', detail: 'no connection.close-ok within 4 s of connection.close' });
      }
    } else if (this.serverClosed) {
      // We answered close-ok; the broker should now drop the socket.
      await this.client.waitClosed(1000);
    }
    this.client.destroy();
    await this.pump;
  }
}
