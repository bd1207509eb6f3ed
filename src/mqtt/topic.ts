/**
 * MQTT topics and filters as amq.topic routing keys, the plain character swap RabbitMQ's MQTT
 * plugin does (no escaping): `/` ↔ `.`, `+` ↔ `*`, `#` unchanged.
 */
export function mqttToAmqp(topic: string): string {
  if (topic.indexOf('+') >= 0) topic = topic.replaceAll('+', '*');
  return topic.indexOf('/') >= 0 ? topic.replaceAll('/', '.') : topic;
}

/** A routing key shown to an MQTT subscriber: `.` → `/`, `*` → `+`. */
export function amqpToMqtt(key: string): string {
  if (key.indexOf('*') >= 0) key = key.replaceAll('*', '+');
  return key.indexOf('.') >= 0 ? key.replaceAll('.', '/') : key;
}

/** True when the MQTT topic matches the MQTT filter (`+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
