// The judges of the protocol fuzzer: the broker's log (errors, stack traces, anything that is not a pino
// line), and well-behaved amqplib clients that must keep working whatever the fuzzed connections send.
import * as amqp from 'amqplib';
import type { BrokerProcess } from '../helpers/broker-process';

export interface LogFinding {
  /** The fuzzing connection's local port, when the line names a connection. */
  port: number | undefined;
  /** A short stable signature: message, error type and first stack frame inside dist/src. */
  signature: string;
  line: string;
}

/** Reads the broker's output incrementally and returns the lines that mean a bug. */
export class LogWatcher {
  private cursor = 0;
  readonly warnings = new Map<string, number>();

  constructor(private readonly broker: () => BrokerProcess) {}

  /** New complete lines since the last call that are errors, fatal, or not pino JSON at all. */
  scan(): LogFinding[] {
    const out = this.broker().output();
    const end = out.lastIndexOf('\n') + 1;
    if (end <= this.cursor) return [];
    const lines = out.slice(this.cursor, end).split('\n');
    this.cursor = end;
    const found: LogFinding[] = [];
    for (const line of lines) {
      if (line.trim() === '') continue;
      let rec: { level?: number; msg?: string; connection?: string; err?: { type?: string; message?: string; stack?: string } };
      try {
        rec = JSON.parse(line);
      } catch {
        found.push({ port: undefined, signature: `non-JSON output: ${line.slice(0, 160)}`, line });
        continue;
      }
      const level = rec.level ?? 0;
      const port = /:(\d+)#\d+$/.exec(rec.connection ?? '')?.[1];
      if (level >= 50) {
        found.push({ port: port === undefined ? undefined : Number(port), signature: signatureOf(rec), line });
      } else if (level >= 40) {
        const key = `${rec.msg}${rec.err ? `: ${rec.err.type} ${rec.err.message}` : ''}`;
        this.warnings.set(key, (this.warnings.get(key) ?? 0) + 1);
      }
    }
    return found;
  }

  /** Resets the cursor after a broker restart (a new process, a new output buffer). */
  restart(): void {
    this.cursor = 0;
  }
}

function signatureOf(rec: { msg?: string; err?: { type?: string; message?: string; stack?: string } }): string {
  const frame = rec.err?.stack?.split('\n').find((l) => l.includes('/dist/src/'))?.trim().replace(/^at /, '') ?? '';
  const where = frame.replace(/.*\/dist\//, 'dist/');
  return `${rec.msg ?? '?'}: ${rec.err?.type ?? ''} ${rec.err?.message ?? ''}${where ? ` @ ${where}` : ''}`;
}

function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, fail) => {
      timer = setTimeout(() => fail(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * A long-lived amqplib connection opened before fuzzing starts. It consumes from its own queue; every
 * check publishes one message and waits for it. Any error or close on it means a fuzzed connection
 * disturbed another client.
 */
export class Bystander {
  private conn: amqp.ChannelModel | undefined;
  private ch: amqp.Channel | undefined;
  private readonly received = new Set<string>();
  private probe = 0;
  readonly disturbances: string[] = [];

  constructor(
    private readonly url: string,
    private readonly queue: string,
  ) {}

  async start(): Promise<void> {
    this.conn = await amqp.connect(this.url);
    this.conn.on('error', (e: Error) => this.disturbances.push(`bystander connection error: ${e.message}`));
    this.conn.on('close', () => this.disturbances.push('bystander connection closed'));
    this.ch = await this.conn.createChannel();
    this.ch.on('error', (e: Error) => this.disturbances.push(`bystander channel error: ${e.message}`));
    await this.ch.assertQueue(this.queue, { durable: false, exclusive: true });
    await this.ch.consume(this.queue, (m) => m && this.received.add(m.content.toString()), { noAck: true });
  }

  /** Publishes a probe and waits for its delivery. Returns an error description, or undefined if fine. */
  async check(): Promise<string | undefined> {
    if (this.disturbances.length > 0) return this.disturbances.join('; ');
    const id = `probe-${++this.probe}`;
    if (!this.ch) return 'bystander has no channel (it could not start)';
    try {
      this.ch.sendToQueue(this.queue, Buffer.from(id));
      const deadline = Date.now() + 5000;
      while (!this.received.has(id)) {
        if (Date.now() > deadline) return `bystander did not receive ${id} within 5 s`;
        await new Promise((r) => setTimeout(r, 2));
      }
      return undefined;
    } catch (err) {
      return `bystander publish failed: ${String(err)}`;
    }
  }

  async stop(): Promise<void> {
    this.conn?.removeAllListeners('close');
    await this.conn?.close().catch(() => {});
  }
}

/** A fresh amqplib client declares a queue, publishes and gets the message back. */
export async function freshClientWorks(url: string, queue: string): Promise<string | undefined> {
  let conn: amqp.ChannelModel | undefined;
  try {
    conn = await timeout(amqp.connect(url), 5000, 'amqplib connect');
    conn.on('error', () => {});
    const ch = await timeout(conn.createChannel(), 5000, 'createChannel');
    ch.on('error', () => {});
    await timeout(ch.assertQueue(queue, { durable: false, autoDelete: false }), 5000, 'assertQueue');
    const body = `check-${Date.now()}`;
    ch.sendToQueue(queue, Buffer.from(body));
    const deadline = Date.now() + 5000;
    for (;;) {
      const m = await timeout(ch.get(queue, { noAck: true }), 5000, 'basic.get');
      if (m && m.content.toString() === body) break;
      if (Date.now() > deadline) return `fresh client: message not back from ${queue}`;
      if (!m) await new Promise((r) => setTimeout(r, 5));
    }
    await ch.deleteQueue(queue);
    return undefined;
  } catch (err) {
    return `fresh client failed: ${String(err)}`;
  } finally {
    await conn?.close().catch(() => {});
  }
}
