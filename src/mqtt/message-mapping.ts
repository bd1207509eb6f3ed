import { Message } from '../broker/message';
import { encodeProperties } from '../broker/queue/dead-letter';
import type { FieldTable } from '../protocol/field-table';
import type { BasicProperties } from '../protocol/methods.generated';
import { amqpToMqtt, mqttToAmqp } from './topic';

/** The MQTT 5 PUBLISH properties that travel with a message. */
export interface MqttPublishProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Record<string, string | string[]>;
  contentType?: string;
}

// The common cases share one encoded property block: no per-message encoding.
const PROPS_QOS0 = encodeProperties({ deliveryMode: 1 });
const PROPS_QOS1 = encodeProperties({ deliveryMode: 2 });

/** True when `props` carry nothing that maps to AMQP (no MQTT 5 properties, or only a topic alias). */
function plain(props: MqttPublishProperties | undefined): boolean {
  if (!props) return true;
  return (
    props.contentType === undefined &&
    props.correlationData === undefined &&
    props.messageExpiryInterval === undefined &&
    props.userProperties === undefined &&
    props.responseTopic === undefined
  );
}

/** An MQTT PUBLISH as an AMQP message on `exchange`, mapped as RabbitMQ's MQTT plugin does. */
export function toAmqpMessage(exchange: string, topic: string, qos: 0 | 1, payload: Buffer, props: MqttPublishProperties | undefined): Message {
  const routingKey = mqttToAmqp(topic);
  if (plain(props)) return new Message(exchange, routingKey, qos === 0 ? PROPS_QOS0 : PROPS_QOS1, payload);
  const p = props!;
  const amqp: BasicProperties = { deliveryMode: qos === 0 ? 1 : 2 };
  const headers: FieldTable = {};
  let hasHeaders = false;
  if (p.contentType !== undefined && /^[\x00-\x7f]*$/.test(p.contentType) && Buffer.byteLength(p.contentType) <= 255) amqp.contentType = p.contentType;
  if (p.correlationData !== undefined) {
    const text = p.correlationData.toString('utf8');
    if (p.correlationData.length <= 255 && !text.includes('\u0000') && Buffer.from(text, 'utf8').equals(p.correlationData)) amqp.correlationId = text;
    else {
      headers['x-correlation-id'] = p.correlationData;
      hasHeaders = true;
    }
  }
  if (p.messageExpiryInterval !== undefined) amqp.expiration = String(p.messageExpiryInterval * 1000);
  if (p.userProperties) {
    for (const [name, value] of Object.entries(p.userProperties)) {
      // Duplicate names collapse to one header (the first value).
      headers[name] = Array.isArray(value) ? String(value[0]) : String(value);
      hasHeaders = true;
    }
  }
  if (p.responseTopic !== undefined) {
    headers['x-reply-to-topic'] = mqttToAmqp(p.responseTopic);
    hasHeaders = true;
  }
  if (hasHeaders) amqp.headers = headers;
  return new Message(exchange, routingKey, encodeProperties(amqp), payload, undefined, amqp);
}

/** The QoS a message carries to MQTT: 1 when persistent (delivery_mode 2). */
export function messageQos(message: Message): 0 | 1 {
  return message.persistent ? 1 : 0;
}

/** The MQTT 5 properties of an AMQP (or MQTT-sourced) message delivered to an MQTT 5 client. */
export function toMqttProperties(message: Message): MqttPublishProperties | undefined {
  const raw = message.rawProperties;
  if (raw === PROPS_QOS0 || raw === PROPS_QOS1) return undefined;
  const p = message.properties;
  const out: MqttPublishProperties = {};
  let any = false;
  if (p.contentType !== undefined) {
    out.contentType = p.contentType;
    any = true;
  }
  if (p.correlationId !== undefined) {
    out.correlationData = Buffer.from(p.correlationId, 'utf8');
    any = true;
  }
  const headers = p.headers;
  if (headers) {
    let user: Record<string, string> | undefined;
    for (const [name, value] of Object.entries(headers)) {
      if (name === 'x-correlation-id') {
        if (out.correlationData === undefined) {
          out.correlationData = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
          any = true;
        }
        continue;
      }
      if (name === 'x-reply-to-topic') {
        out.responseTopic = amqpToMqtt(Buffer.isBuffer(value) ? value.toString('utf8') : String(value));
        any = true;
        continue;
      }
      const text = userPropertyValue(value);
      if (text === undefined) continue;
      (user ??= {})[name] = text;
    }
    if (user) {
      out.userProperties = user;
      any = true;
    }
  }
  return any ? out : undefined;
}

/** Header values that can be written as strings; arrays, tables and bytes are dropped, as RabbitMQ does. */
function userPropertyValue(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value.includes('\u0000') ? undefined : value;
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(value);
    default:
      if (value === null) return '';
      if (value instanceof Date) return String(Math.floor(value.getTime() / 1000));
      return undefined;
  }
}
