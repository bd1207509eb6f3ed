import { decodeRawProperties, hasProperty, peekDeliveryMode } from '../protocol/properties';
import { PropertyFlag, type BasicProperties } from '../protocol/methods.generated';

/**
 * A published message. Properties stay as the publisher's raw bytes and are decoded only
 * when someone asks; one Message is shared by every queue it is routed to.
 */
export class Message {
  private decoded: BasicProperties | undefined;
  readonly persistent: boolean;

  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    /** Property flags and property values, as in a content header after body-size. */
    readonly rawProperties: Buffer,
    readonly body: Buffer,
  ) {
    this.persistent = peekDeliveryMode(rawProperties) === 2;
  }

  get properties(): BasicProperties {
    return (this.decoded ??= decodeRawProperties(this.rawProperties));
  }

  get hasHeaders(): boolean {
    return hasProperty(this.rawProperties, PropertyFlag.headers);
  }

  get bodySize(): number {
    return this.body.length;
  }
}
