import { RecordLog } from '../store/record-log';
import type { MqttPublishProperties } from './message-mapping';

/** A retained message as MQTT publishes it again. */
export interface RetainedMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1;
  readonly properties: MqttPublishProperties | undefined;
  /** Ms since the epoch; Infinity for never. */
  readonly expiresAtMs: number;
}

interface StoredRecord {
  v: string;
  t: string;
  /** Absent for a deletion. */
  p?: string;
  q?: 0 | 1;
  props?: Omit<MqttPublishProperties, 'correlationData'> & { correlationData?: string };
  exp?: number;
}

/** Most retained messages per vhost (mqtt.retained_message_store.max_messages). */
const MAX_MESSAGES_PER_VHOST = 100_000;

/**
 * Retained messages per vhost, keyed by MQTT topic, kept in a crash-safe record log in the
 * data directory so they survive restarts. Each change is one appended record; the log is
 * rewritten as a snapshot when it holds several times more records than live messages.
 * Retained messages are rare next to ordinary publishes, so records are JSON.
 */
export class RetainedStore {
  private readonly byVhost = new Map<string, Map<string, RetainedMessage>>();
  private size = 0;

  private constructor(private readonly log: RecordLog | undefined) {
    if (!log) return;
    for (const raw of log.recovered) {
      let r: StoredRecord;
      try {
        r = JSON.parse(raw.toString('utf8')) as StoredRecord;
      } catch {
        continue;
      }
      this.applyRecord(r);
    }
  }

  /** Opens the store in `dir`, or a memory-only store when dir is undefined. */
  static open(dir: string | undefined): RetainedStore {
    return new RetainedStore(dir === undefined ? undefined : RecordLog.open(dir, 'retained'));
  }

  /** Stores (or, for an empty payload, deletes) the retained message of `topic`. Returns false at the limit. */
  put(vhost: string, message: RetainedMessage): boolean {
    const map = this.vhostMap(vhost);
    if (message.payload.length === 0) {
      if (!map.delete(message.topic)) return true;
      this.size--;
      this.append({ v: vhost, t: message.topic });
      return true;
    }
    if (!map.has(message.topic)) {
      if (map.size >= MAX_MESSAGES_PER_VHOST) return false;
      this.size++;
    }
    map.set(message.topic, message);
    this.append(toRecord(vhost, message));
    return true;
  }

  /** The retained message of exactly `topic` (filters are looked up as plain strings, as RabbitMQ does). */
  get(vhost: string, topic: string): RetainedMessage | undefined {
    const m = this.byVhost.get(vhost)?.get(topic);
    if (m && m.expiresAtMs <= Date.now()) {
      this.put(vhost, { ...m, payload: Buffer.alloc(0) });
      return undefined;
    }
    return m;
  }

  close(): void {
    this.log?.close();
  }

  private vhostMap(vhost: string): Map<string, RetainedMessage> {
    let map = this.byVhost.get(vhost);
    if (!map) this.byVhost.set(vhost, (map = new Map()));
    return map;
  }

  private applyRecord(r: StoredRecord): void {
    const map = this.vhostMap(r.v);
    if (r.p === undefined) {
      if (map.delete(r.t)) this.size--;
      return;
    }
    if (!map.has(r.t)) this.size++;
    const props = r.props ? { ...r.props, correlationData: r.props.correlationData === undefined ? undefined : Buffer.from(r.props.correlationData, 'base64') } : undefined;
    map.set(r.t, { topic: r.t, payload: Buffer.from(r.p, 'base64'), qos: r.q ?? 0, properties: props, expiresAtMs: r.exp ?? Infinity });
  }

  private append(record: StoredRecord): void {
    const log = this.log;
    if (!log) return;
    void log.append(Buffer.from(JSON.stringify(record))).catch(() => undefined);
    if (log.logRecords > 4 * this.size + 1000) {
      const all: Buffer[] = [];
      for (const [vhost, map] of this.byVhost) for (const m of map.values()) all.push(Buffer.from(JSON.stringify(toRecord(vhost, m))));
      log.rewrite(all);
    }
  }
}

function toRecord(vhost: string, m: RetainedMessage): StoredRecord {
  const props = m.properties ? { ...m.properties, correlationData: m.properties.correlationData?.toString('base64') } : undefined;
  return { v: vhost, t: m.topic, p: m.payload.toString('base64'), q: m.qos, props, exp: m.expiresAtMs === Infinity ? undefined : m.expiresAtMs };
}
