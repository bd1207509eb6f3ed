import { join } from 'node:path';
import type { Broker } from '../broker/broker';
import type { MetadataStore } from '../broker/ports';
import type { Config } from '../config/config';
import type { Logger } from '../log/logger';
import { ClientRegistry } from '../mqtt/client-registry';
import { RetainedStore } from '../mqtt/retained-store';
import { MqttServer } from '../mqtt/server';
import { StompServer } from '../stomp/server';

export interface ProtocolListeners {
  mqtt: MqttServer | undefined;
  stomp: StompServer | undefined;
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
  let stomp: StompServer | undefined;
  if (config.stompPort !== 0 || config.webStompPort !== 0) {
    stomp = new StompServer({
      broker,
      metadata,
      options: {
        defaultUser: config.defaultUser,
        defaultPass: config.defaultPass,
        defaultVhost: config.stompDefaultVhost,
        topicExchange: 'amq.topic',
        nackRequeue: true,
      },
      log: log.child({ module: 'stomp' }),
      nodeName: config.nodeName,
    });
    if (config.stompPort !== 0) {
      await stomp.listen(config.nodeIp, config.stompPort);
      log.info({ host: config.nodeIp, port: config.stompPort }, 'STOMP listener started');
    }
  }
  return {
    mqtt,
    stomp,
    async close() {
      await mqtt?.close();
      await stomp?.close();
    },
  };
}
