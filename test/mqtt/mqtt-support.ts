// Shared pieces of the MQTT suites: MQTT.js connections that are closed after each file.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { ProtocolBroker } from '../helpers/protocol-broker';
import { uniqueName as amqpName } from '../helpers/amqp-test';

/** A unique topic level or client ID (without the dots that MQTT would read as level separators). */
export function uniqueName(prefix: string): string {
  return amqpName(prefix).replace(/\./g, '-');
}

export interface Received {
  topic: string;
  payload: string;
  packet: mqtt.IPublishPacket;
}

/** MQTT.js clients of one test file, each recording what it receives. */
export class MqttClients {
  private readonly open = new Set<MqttClient>();

  constructor(private readonly broker: () => ProtocolBroker) {}

  async connect(opts: IClientOptions = {}): Promise<MqttClient & { received: Received[] }> {
    const client = mqtt.connect(`mqtt://127.0.0.1:${this.broker().mqttPort}`, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    // Listening before CONNACK: a resumed session's messages can arrive in the same read.
    const received: Received[] = [];
    client.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), packet }));
    this.open.add(client);
    await new Promise<void>((ok, fail) => {
      client.once('connect', () => ok());
      client.once('error', fail);
    });
    return Object.assign(client, { received });
  }

  async closeAll(): Promise<void> {
    // Forced ends, bounded: a client stuck mid-handshake must not hold the after hook.
    await Promise.race([Promise.all([...this.open].map((c) => c.endAsync(true).catch(() => undefined))), new Promise((r) => setTimeout(r, 2000))]);
    this.open.clear();
  }
}

/** Connects expecting a refusal; resolves with the CONNACK code (MQTT 5 reason code or 3.1.1 return code). */
export function connectRefused(port: number, opts: IClientOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    client.on('connect', () => {
      client.end(true);
      reject(new Error('connection was accepted'));
    });
    client.on('error', (err: Error & { code?: number }) => {
      client.end(true);
      resolve(err.code ?? -1);
    });
  });
}
