// The client of the differential harness: a raw AMQP connection that records everything the broker sends
// as text lines (methods with every field, content properties with their field types, bodies), so that the
// same script run against Warren and against RabbitMQ can be compared line by line. It never throws on an
// unexpected answer: a missing reply is recorded as one, so the difference shows in the transcripts.
import { RawClient, FRAME_BODY, FRAME_HEADER, FRAME_METHOD, methods, PROTOCOL_HEADER } from '../helpers/raw-amqp';
import { describeHeader, describeMethod, encodeTable, methodBytes, publishBytes, type Args, type Properties } from './wire';

/** Replaces server-generated names (amq.gen-…, amq.ctag-…, reply-to addresses) with stable placeholders. */
export class Normalizer {
  private readonly seen = new Map<string, string>();
  apply(text: string): string {
    return text
      .replace(/amq\.(gen|ctag)-[A-Za-z0-9_\-]+/g, (m, kind: string) => this.placeholder(m, `amq.${kind}-#`))
      .replace(/amq\.rabbitmq\.reply-to\.[A-Za-z0-9_.=+/\-]+/g, (m) => this.placeholder(m, 'amq.rabbitmq.reply-to.#'))
      .replace(/time=T:\d+/g, 'time=T:*');
  }
  private placeholder(original: string, pattern: string): string {
    let p = this.seen.get(original);
    if (!p) {
      const n = [...this.seen.values()].filter((v) => v.startsWith(pattern.slice(0, -1))).length + 1;
      p = pattern.replace('#', String(n));
      this.seen.set(original, p);
    }
    return p;
  }
}

/** One recorded event: what arrived, on which connection and channel. */
export interface Received {
  conn: string;
  channel: number;
  name: string;
  fields: Record<string, string>;
  text: string;
}

export interface HandshakeOptions {
  user?: string;
  password?: string;
  vhost?: string;
  mechanism?: string;
  /** Values sent in tune-ok instead of the server's proposal. */
  tuneOk?: { channelMax?: number; frameMax?: number; heartbeat?: number };
  /** Record connection.start (without the brokers' own product properties), tune and open-ok. */
  record?: boolean;
}

const REPLY_NAMES = /-ok$|^basic\.get-empty$|^channel\.close$|^connection\.close$/;

/** A recording raw connection. */
export class Probe {
  readonly received: Received[] = [];
  private readonly waiters = new Set<() => void>();
  private pending = new Map<number, { method: { name: string; fields: Record<string, string> }; properties?: string[]; bodySize?: bigint; body: Buffer[] }>();
  private pumping = true;
  /** Publisher confirms (acked or nacked tags) received per channel. */
  private readonly confirmed = new Map<number, Set<number>>();
  closed = false;
  /** The broker closed the connection (and was answered close-ok): nothing more to send. */
  serverClosed = false;

  private constructor(
    private readonly raw: RawClient,
    readonly label: string,
    private readonly log: string[],
    private readonly names: Normalizer,
  ) {}

  static async open(port: number, label: string, log: string[], names: Normalizer, opts: HandshakeOptions = {}): Promise<Probe> {
    const raw = await RawClient.connect(port);
    const p = new Probe(raw, label, log, names);
    await p.handshake(opts);
    if (!p.closed) void p.pump();
    return p;
  }

  /** The opening handshake; a refusal (connection.close) is recorded like any other frame. */
  private async handshake(opts: HandshakeOptions): Promise<void> {
    const raw = this.raw;
    raw.write(PROTOCOL_HEADER);
    const next = async (): Promise<{ name: string; payload: Buffer } | undefined> => {
      const m = await raw.nextMethod(5000);
      if (!m) {
        this.closed = true;
        this.log.push(`< ${this.label} socket closed during the handshake`);
        this.record(0, 'handshake-ended-without-close', {});
        return undefined;
      }
      const d = describeMethod(m.payload);
      if (d.name === 'connection.close') {
        this.record(0, d.name, d.fields);
        raw.write(methods.connectionCloseOk());
        this.serverClosed = true;
        this.closed = true;
        return undefined;
      }
      return { name: d.name, payload: m.payload };
    };
    const start = await next();
    if (!start) return;
    if (opts.record) {
      // What a client reads of connection.start: version, mechanisms, locales, and the capabilities
      // table of the server properties (product, version and platform are the brokers' own).
      const f = describeMethod(start.payload).fields;
      const capabilities = /capabilities=F:(\{[^}]*\})/.exec(f.serverProperties ?? '')?.[1] ?? 'none';
      this.record(0, 'connection.start', { versionMajor: f.versionMajor, versionMinor: f.versionMinor, mechanisms: f.mechanisms, locales: f.locales, capabilities });
    }
    const [user, password] = [opts.user ?? 'guest', opts.password ?? 'guest'];
    // AMQPLAIN's response is a field table without its length prefix (LOGIN, PASSWORD).
    const response = opts.mechanism === 'AMQPLAIN' ? encodeTable({ LOGIN: user, PASSWORD: password }).subarray(4) : Buffer.from(`\u0000${user}\u0000${password}`);
    const capabilities = { consumer_cancel_notify: true, 'connection.blocked': true, authentication_failure_close: true, publisher_confirms: true, basic_nack: true };
    raw.write(methodBytes(0, 'connection.start-ok', { clientProperties: { product: 'warren-differential', capabilities }, mechanism: opts.mechanism ?? 'PLAIN', response, locale: 'en_US' }));
    const tune = await next();
    if (!tune) return;
    if (opts.record) this.record(0, 'connection.tune', describeMethod(tune.payload).fields);
    const proposed = { channelMax: tune.payload.readUInt16BE(4), frameMax: tune.payload.readUInt32BE(6), heartbeat: 0 };
    raw.write(methodBytes(0, 'connection.tune-ok', { ...proposed, ...opts.tuneOk }));
    raw.write(methodBytes(0, 'connection.open', { virtualHost: opts.vhost ?? '/' }));
    const open = await next();
    if (open && opts.record) this.record(0, open.name, describeMethod(open.payload).fields);
  }

  private async pump(): Promise<void> {
    while (this.pumping) {
      const f = await this.raw.nextFrame(60_000);
      if (!f) {
        if (this.raw.closed) {
          // Kept out of the transcript: when the socket goes after a close is timing, not protocol.
          this.closed = true;
          this.log.push(`< ${this.label} socket closed`);
          for (const w of [...this.waiters]) w();
          return;
        }
        continue;
      }
      if (f.type === FRAME_METHOD) {
        const m = describeMethod(f.payload);
        if (m.name === 'basic.deliver' || m.name === 'basic.get-ok' || m.name === 'basic.return') {
          this.pending.set(f.channel, { method: m, body: [] });
          continue;
        }
        if (m.name === 'basic.ack' || m.name === 'basic.nack') {
          // A multiple ack is how the broker batched its confirms, not what was confirmed: one line per tag.
          let done = this.confirmed.get(f.channel);
          if (!done) this.confirmed.set(f.channel, (done = new Set()));
          const upTo = Number(m.fields.deliveryTag);
          const tags = m.fields.multiple === 'true' ? Array.from({ length: upTo }, (_, i) => i + 1).filter((t) => !done.has(t)) : [upTo];
          for (const tag of tags) {
            done.add(tag);
            this.record(f.channel, m.name, { ...m.fields, deliveryTag: String(tag), multiple: 'false' });
          }
        } else this.record(f.channel, m.name, m.fields);
        if (m.name === 'channel.close') this.raw.write(methods.channelCloseOk(f.channel));
        if (m.name === 'connection.close') {
          this.serverClosed = true;
          this.raw.write(methods.connectionCloseOk());
        }
      } else if (f.type === FRAME_HEADER) {
        const c = this.pending.get(f.channel);
        if (!c) continue;
        const h = describeHeader(f.payload);
        c.properties = h.properties;
        c.bodySize = h.bodySize;
        if (h.bodySize === 0n) this.completeContent(f.channel);
      } else if (f.type === FRAME_BODY) {
        const c = this.pending.get(f.channel);
        if (!c) continue;
        c.body.push(f.payload);
        if (BigInt(c.body.reduce((n, b) => n + b.length, 0)) >= (c.bodySize ?? 0n)) this.completeContent(f.channel);
      }
    }
  }

  private completeContent(channel: number): void {
    const c = this.pending.get(channel)!;
    this.pending.delete(channel);
    const body = Buffer.concat(c.body).toString('utf8');
    this.record(channel, c.method.name, c.method.fields, ` props[${(c.properties ?? []).join(' ')}] body=${JSON.stringify(body)}`);
  }

  private record(channel: number, name: string, fields: Record<string, string>, extra = ''): void {
    this.log.push(`< ${this.label}.ch${channel} ${name} ${JSON.stringify(fields)}`);
    // Reply texts are free text: the transcript keeps their constant name (NOT_FOUND, ...), the log the rest.
    if (fields.replyText !== undefined) fields = { ...fields, replyText: fields.replyText.split(' - ')[0] };
    const args = Object.entries(fields)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const text = this.names.apply(`${this.label}.ch${channel} ${name}${args ? ` ${args}` : ''}${extra}`);
    const normalized: Record<string, string> = {};
    for (const [k, v] of Object.entries(fields)) normalized[k] = this.names.apply(v);
    this.received.push({ conn: this.label, channel, name, fields: normalized, text });
    for (const w of [...this.waiters]) w();
  }

  /** Writes a method without waiting. */
  send(channel: number, name: string, args: Args = {}): void {
    this.log.push(`> ${this.label}.ch${channel} ${name} ${show(args)}`);
    this.raw.write(methodBytes(channel, name, args));
  }

  /** Writes raw bytes (malformed frames and the like). */
  sendRaw(bytes: Buffer, what: string): void {
    this.log.push(`> ${this.label} raw ${what}`);
    this.raw.write(bytes);
  }

  publish(channel: number, args: Args, body: string | Buffer = '', props: Properties = {}): void {
    this.log.push(`> ${this.label}.ch${channel} basic.publish ${show(args)} ${show(props)} ${JSON.stringify(String(body))}`);
    this.raw.write(publishBytes(channel, args, body, props));
  }

  /**
   * Publishes in confirm mode and waits for the confirms: afterwards every queue has the messages,
   * on RabbitMQ too (its counts are otherwise not settled by the time of the next method).
   */
  async publishConfirmed(channel: number, messages: { args: Args; body?: string; props?: Properties }[]): Promise<void> {
    if (!this.confirming.has(channel)) {
      await this.call(channel, 'confirm.select');
      this.confirming.add(channel);
    }
    for (const m of messages) this.publish(channel, m.args, m.body ?? '', m.props ?? {});
    this.published.set(channel, (this.published.get(channel) ?? 0) + messages.length);
    const target = this.published.get(channel)!;
    const deadline = Date.now() + 3000;
    while ((this.confirmed.get(channel)?.size ?? 0) < target && !this.closed && Date.now() < deadline) {
      await this.waitFor(() => true, deadline - Date.now(), this.received.length);
    }
  }

  private readonly confirming = new Set<number>();
  private readonly published = new Map<number, number>();

  /** Resolves once an event after index `from` matches, or after timeoutMs (then undefined). */
  async waitFor(pred: (r: Received) => boolean, timeoutMs = 3000, from = 0): Promise<Received | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.received.slice(from).find(pred);
      if (hit) return hit;
      if (this.closed || Date.now() >= deadline) {
        this.log.push(`! ${this.label} waited in vain`);
        return undefined;
      }
      await new Promise<void>((ok) => {
        const t = setTimeout(() => {
          this.waiters.delete(done);
          ok();
        }, Math.max(1, deadline - Date.now()));
        const done = () => {
          clearTimeout(t);
          this.waiters.delete(done);
          ok();
        };
        this.waiters.add(done);
      });
    }
  }

  /** Sends a method and waits for its reply on the channel (or a close of the channel or connection). */
  async call(channel: number, name: string, args: Args = {}, timeoutMs = 3000): Promise<Received | undefined> {
    const from = this.received.length;
    this.send(channel, name, args);
    return this.waitFor((r) => (r.channel === channel || r.name === 'connection.close') && REPLY_NAMES.test(r.name), timeoutMs, from);
  }

  /** Waits until `n` events of the given method have arrived on the channel (counting from the start). */
  async count(channel: number, name: string, n: number, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.filter((r) => r.channel === channel && r.name === name).length < n) {
      if (this.closed || Date.now() >= deadline) {
        this.log.push(`! ${this.label} expected ${n} ${name} on ch${channel}`);
        return;
      }
      await this.waitFor(() => true, deadline - Date.now(), this.received.length);
    }
  }

  async openChannel(channel: number): Promise<void> {
    await this.call(channel, 'channel.open');
  }

  /** Lets frames already on their way arrive (for asserting that nothing more comes). */
  async quiet(ms = 150): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
  }

  /** connection.close and wait for close-ok (or the socket closing). */
  async close(): Promise<void> {
    if (!this.closed && !this.serverClosed) {
      this.raw.write(methods.connectionClose());
      await this.waitFor((r) => r.name === 'connection.close-ok', 2000, 0);
    }
    this.pumping = false;
    this.raw.destroy();
  }

  destroy(): void {
    this.pumping = false;
    this.raw.destroy();
  }
}

/** JSON for the log, with bigints as strings. */
function show(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}
