import { connect, type Socket } from 'node:net';
import { generate, parser as mqttParser, type Packet } from 'mqtt-packet';

/**
 * Load generators for the MQTT and STOMP benchmarks, written on raw sockets so the client is
 * not the bottleneck: one publisher, one subscriber on the same topic or queue, with the
 * publisher kept at most `window` messages ahead of the subscriber (an end-to-end window, so
 * neither broker is fed faster than it delivers and memory stays bounded).
 */

export interface ThroughputResult {
  /** Messages the subscriber received per second over the measured interval. */
  msgsPerSec: number;
  received: number;
  seconds: number;
}

const PAYLOAD = Buffer.alloc(64, 0x61);

function open(port: number): Promise<Socket> {
  return new Promise((ok, fail) => {
    const s = connect(port, '127.0.0.1', () => ok(s));
    s.setNoDelay(true);
    s.once('error', fail);
  });
}

/** An MQTT client on a raw socket: resolves once CONNACK arrived. */
async function mqttClient(port: number, clientId: string, onPacket: (p: Packet, s: Socket) => void): Promise<Socket> {
  const s = await open(port);
  const parser = mqttParser({ protocolVersion: 4 });
  let connected!: () => void;
  const ready = new Promise<void>((ok) => (connected = ok));
  parser.on('packet', (p: Packet) => (p.cmd === 'connack' ? connected() : onPacket(p, s)));
  s.on('data', (d) => parser.parse(d));
  s.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: 0, username: 'guest', password: Buffer.from('guest') }));
  await ready;
  return s;
}

/** MQTT publish → subscribe at `qos` through one topic. */
export async function mqttThroughput(port: number, qos: 0 | 1, durationMs: number, window = 5000): Promise<ThroughputResult> {
  let received = 0;
  let sent = 0;
  let acked = 0;
  let subscribed!: () => void;
  const subReady = new Promise<void>((ok) => (subscribed = ok));
  const topic = `bench/${qos}/${Date.now()}`;
  const sub = await mqttClient(port, `bench-sub-${Date.now()}`, (p, s) => {
    if (p.cmd === 'suback') return subscribed();
    if (p.cmd !== 'publish') return;
    received++;
    if (p.qos === 1) s.write(generate({ cmd: 'puback', messageId: p.messageId! }));
    if (sent - received < window / 2) pump();
  });
  sub.write(generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] }));
  await subReady;
  const pub = await mqttClient(port, `bench-pub-${Date.now()}`, (p) => {
    if (p.cmd === 'puback') {
      acked++;
      if (sent - acked < window / 2) pump();
    }
  });
  const qos0 = generate({ cmd: 'publish', topic, payload: PAYLOAD, qos: 0, retain: false, dup: false });
  let nextId = 1;
  let stopped = false;
  let pumping = false;
  function pump(): void {
    if (stopped || pumping) return;
    pumping = true;
    const batch: Buffer[] = [];
    while (sent - received < window && (qos === 0 || sent - acked < window) && batch.length < 500) {
      if (qos === 0) batch.push(qos0);
      else {
        batch.push(generate({ cmd: 'publish', topic, payload: PAYLOAD, qos: 1, retain: false, dup: false, messageId: nextId }));
        nextId = nextId === 65535 ? 1 : nextId + 1;
      }
      sent++;
    }
    pumping = false;
    if (batch.length === 0) return;
    if (pub.write(Buffer.concat(batch))) setImmediate(pump);
    else pub.once('drain', pump);
  }
  pump();
  // Warm up for a second, then measure.
  await new Promise((r) => setTimeout(r, 1000));
  const start = received;
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, durationMs));
  const n = received - start;
  const seconds = (Date.now() - t0) / 1000;
  stopped = true;
  pub.destroy();
  sub.destroy();
  return { msgsPerSec: Math.round(n / seconds), received: n, seconds };
}

/** A STOMP client on a raw socket: counts MESSAGE frames, resolves once CONNECTED arrived. */
async function stompClient(port: number, onMessage: () => void, onReceipt: () => void): Promise<Socket> {
  const s = await open(port);
  let connected!: () => void;
  const ready = new Promise<void>((ok) => (connected = ok));
  let tail = '';
  s.on('data', (d: Buffer) => {
    // Counting frames by their command at the start of a frame is enough here (bodies are 'a's).
    const text = tail + d.toString('latin1');
    let i = 0;
    for (;;) {
      const nul = text.indexOf('\0', i);
      if (nul < 0) break;
      const frame = text.slice(i, nul).replace(/^\n+/, '');
      if (frame.startsWith('MESSAGE')) onMessage();
      else if (frame.startsWith('RECEIPT')) onReceipt();
      else if (frame.startsWith('CONNECTED')) connected();
      else if (frame.startsWith('ERROR')) throw new Error(`STOMP ERROR: ${frame}`);
      i = nul + 1;
    }
    tail = text.slice(i);
  });
  s.write('CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:guest\n\n\0');
  await ready;
  return s;
}

/** STOMP SEND → SUBSCRIBE (ack auto) through one queue. */
export async function stompThroughput(port: number, durationMs: number, window = 5000): Promise<ThroughputResult> {
  let received = 0;
  let sent = 0;
  const queue = `/queue/bench-${Date.now()}`;
  let subscribed!: () => void;
  const subReady = new Promise<void>((ok) => (subscribed = ok));
  const sub = await stompClient(
    port,
    () => {
      received++;
      if (sent - received < window / 2) pump();
    },
    () => subscribed(),
  );
  sub.write(`SUBSCRIBE\ndestination:${queue}\nid:s\nack:auto\nreceipt:sub\n\n\0`);
  await subReady;
  const pub = await stompClient(port, () => undefined, () => undefined);
  const frame = Buffer.from(`SEND\ndestination:${queue}\ncontent-length:${PAYLOAD.length}\n\n${PAYLOAD.toString()}\0`);
  let stopped = false;
  function pump(): void {
    if (stopped) return;
    const batch: Buffer[] = [];
    while (sent - received < window && batch.length < 500) {
      batch.push(frame);
      sent++;
    }
    if (batch.length === 0) return;
    if (pub.write(Buffer.concat(batch))) setImmediate(pump);
    else pub.once('drain', pump);
  }
  pump();
  await new Promise((r) => setTimeout(r, 1000));
  const start = received;
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, durationMs));
  const n = received - start;
  const seconds = (Date.now() - t0) / 1000;
  stopped = true;
  pub.destroy();
  sub.destroy();
  return { msgsPerSec: Math.round(n / seconds), received: n, seconds };
}

/** Opens `count` idle MQTT connections (CONNECT + CONNACK each); returns them for closing. */
export async function idleMqttConnections(port: number, count: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  const batch = 200;
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    sockets.push(...(await Promise.all(Array.from({ length: n }, (_, j) => mqttClient(port, `idle-${i + j}-${Date.now()}`, () => undefined)))));
  }
  return sockets;
}

/** Opens `count` idle STOMP connections (CONNECT + CONNECTED each). */
export async function idleStompConnections(port: number, count: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  const batch = 200;
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    sockets.push(...(await Promise.all(Array.from({ length: n }, () => stompClient(port, () => undefined, () => undefined)))));
  }
  return sockets;
}
