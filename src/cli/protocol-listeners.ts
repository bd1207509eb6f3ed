import { join } from 'node:path';
import type { Broker } from '../broker/broker';
import type { MetadataStore } from '../broker/ports';
import type { Config } from '../config/config';
import type { Logger } from '../log/logger';
import { ClientRegistry } from '../mqtt/client-registry';
import { RetainedStore } from '../mqtt/retained-store';
import { MqttServer } from '../mqtt/server';

export interface ProtocolListeners {
  mqtt: MqttServer | undefined;
  close(): Promise<void>;
}

/** Starts the MQTT, STOMP and WebSocket listeners whose ports are not 0. */
export async function startProtocolListeners(broker: Broker, metadata: MetadataStore, config: Config, log: Logger): Promise<ProtocolListeners> {
  let mqtt: MqttServer | undefined;
  if (config.mqttPort !== 0 || config.webMqttPort !== 0) {
    mqtt = new MqttServer({
      broker,
      metadata,
      retained: RetainedStore.open(join(config.dataDir, 'mqtt')),
      clients: new ClientRegistry(),
      options: {
        vhost: config.mqttVhost,
        exchange: config.mqttExchange,
        prefetch: config.mqttPrefetch,
        maxSessionExpirySeconds: config.mqttMaxSessionExpirySeconds,
        anonymousUser: config.defaultUser,
        anonymousPass: config.defaultPass,
      },
      log: log.child({ module: 'mqtt' }),
      nodeName: config.nodeName,
    });
    if (config.mqttPort !== 0) {
      await mqtt.listen(config.nodeIp, config.mqttPort);
      log.info({ host: config.nodeIp, port: config.mqttPort }, 'MQTT listener started');
    }
  }
  return {
    mqtt,
    async close() {
      await mqtt?.close();
    },
  };
}
