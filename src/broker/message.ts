import { decodeRawProperties, hasProperty, peekDeliveryMode } from '../protocol/properties';
import { PropertyFlag, type BasicProperties } from '../protocol/methods.generated';

/**
 * A published message. Properties stay as the publisher's raw bytes and are decoded only
 * when someone asks; one Message is shared by every queue it is routed to.
 */
export class Message {
  private decoded: BasicProperties | undefined;
  readonly persistent: boolean;
  /** Its id in the vhost's message store, once written there (persistent, routed to a durable queue). */
  storeId: number | undefined;

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
