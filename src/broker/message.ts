import { decodeRawProperties, hasProperty, peekDeliveryMode } from '../protocol/properties';
import { PropertyFlag, type BasicProperties } from '../protocol/methods.generated';

/**
 * Where a publish forwarded to a quorum queue comes from, so that the queue recognises it
 * when it is sent again after a leader change: its enqueuer (one node's stream of confirmed
 * publishes into one queue, with an id unique across that node's restarts), its number in
 * that stream, and the number up to which the enqueuer waits for nothing more (every
 * publish at or below it confirmed or nacked).
 */
export interface EnqueueOrigin {
  readonly enqueuer: number;
  readonly seq: number;
  readonly floor: number;
}

/**
 * The floor as frames and log entries carry it: its distance below the number, in a u32.
 * A floor 2^32 - 1 or more below is carried as none (0): a lower floor is only stricter.
 */
export function floorDistance(o: EnqueueOrigin): number {
  return Math.min(o.seq - o.floor, 0xffffffff);
}

export function floorAt(seq: number, distance: number): number {
  return distance === 0xffffffff ? 0 : seq - distance;
}

/**
 * A published message. Properties stay as the publisher's raw bytes and are decoded only
 * when someone asks; one Message is shared by every queue it is routed to.
 */
export class Message {
  private decoded: BasicProperties | undefined;
  readonly persistent: boolean;
  /** Its id in the vhost's message store, once written there (persistent, routed to a durable queue). */
  storeId: number | undefined;
  /** Set on a publish another node forwarded to a quorum queue's leader with its origin (see EnqueueOrigin). */
  origin: EnqueueOrigin | undefined = undefined;

  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    /** Property flags and property values, as in a content header after body-size. */
    readonly rawProperties: Buffer,
    readonly body: Buffer,
    routingBytes?: Buffer,
    /** The properties already decoded from rawProperties, when the caller has them. */
    properties?: BasicProperties,
  ) {
    this.persistent = peekDeliveryMode(rawProperties) === 2;
    this.encodedRouting = routingBytes;
    this.decoded = properties;
  }

  private encodedRouting: Buffer | undefined;

  /**
   * Exchange and routing key encoded as two shortstrs, as basic.deliver and get-ok carry them.
   * Publishes share one buffer while their routing does not change, so deliveries copy bytes
   * instead of encoding strings.
   */
  get routingBytes(): Buffer {
    return (this.encodedRouting ??= encodeRouting(this.exchange, this.routingKey));
  }

  get properties(): BasicProperties {
    return (this.decoded ??= decodeRawProperties(this.rawProperties));
  }

  get hasHeaders(): boolean {
    return hasProperty(this.rawProperties, PropertyFlag.headers);
  }

  /**
   * The per-message TTL from the expiration property in ms, undefined when absent.
   * The property must hold a non-negative integer (checked at publish, see parseExpiration).
   */
  get expirationMs(): number | undefined {
    if (!hasProperty(this.rawProperties, PropertyFlag.expiration)) return undefined;
    const ms = parseExpiration(this.properties.expiration);
    return ms ?? undefined;
  }

  /** True when the message has a priority property (read without decoding the properties). */
  get hasPriority(): boolean {
    return hasProperty(this.rawProperties, PropertyFlag.priority);
  }

  /** The priority property, 0 when absent (read without decoding the properties then). */
  get priority(): number {
    if (!hasProperty(this.rawProperties, PropertyFlag.priority)) return 0;
    return this.properties.priority ?? 0;
  }

  get bodySize(): number {
    return this.body.length;
  }
}

const MAX_EXPIRATION_MS = 315_360_000_000;

/** Parses an expiration property: a string of a non-negative integer of ms; null when invalid. */
export function parseExpiration(value: string | undefined): number | null {
  if (value === undefined || !/^\d+$/.test(value)) return null;
  const ms = Number(value);
  return ms <= MAX_EXPIRATION_MS ? ms : null;
}

/** Two shortstrs: exchange and routing key (each cut at 255 bytes, as on the wire). */
export function encodeRouting(exchange: string, routingKey: string): Buffer {
  const e = Buffer.from(exchange, 'utf8').subarray(0, 255);
  const k = Buffer.from(routingKey, 'utf8').subarray(0, 255);
  const out = Buffer.allocUnsafe(2 + e.length + k.length);
  out[0] = e.length;
  e.copy(out, 1);
  out[1 + e.length] = k.length;
  k.copy(out, 2 + e.length);
  return out;
}
