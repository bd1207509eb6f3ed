/**
 * MQTT topics and filters as amq.topic routing keys, the plain character swap RabbitMQ's MQTT
 * plugin does (no escaping): `/` ↔ `.`, `+` ↔ `*`, `#` unchanged.
 */
export function mqttToAmqp(topic: string): string {
  let out = '';
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    out += c === 0x2f ? '.' : c === 0x2b ? '*' : topic[i];
  }
  return out;
}

/** A routing key shown to an MQTT subscriber: `.` → `/`, `*` → `+`. */
export function amqpToMqtt(key: string): string {
  let out = '';
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    out += c === 0x2e ? '/' : c === 0x2a ? '+' : key[i];
  }
  return out;
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
