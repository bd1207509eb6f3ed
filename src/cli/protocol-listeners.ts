import { join } from 'node:path';
import type { ListedConnection } from '../adapter/listed-connection';
import type { Broker } from '../broker/broker';
import type { MetadataStore } from '../broker/ports';
import type { Config } from '../config/config';
import type { Logger } from '../log/logger';
import { ClientRegistry } from '../mqtt/client-registry';
import { RetainedStore } from '../mqtt/retained-store';
import { MqttServer } from '../mqtt/server';
import { StompServer } from '../stomp/server';
import { WebSocketListener } from '../web/ws-listener';
import { authSettings, tlsListenerOn } from './tls-settings';

export interface ProtocolListeners {
  mqtt: MqttServer | undefined;
  stomp: StompServer | undefined;
  webStomp: WebSocketListener | undefined;
  webMqtt: WebSocketListener | undefined;
  /** MQTT and STOMP connections (all transports), for the management API. */
  listedConnections(): Iterable<ListedConnection>;
  close(): Promise<void>;
}

/** Starts the MQTT, STOMP and WebSocket listeners whose ports are not 0. */
export async function startProtocolListeners(broker: Broker, metadata: MetadataStore, config: Config, log: Logger): Promise<ProtocolListeners> {
  const auth = authSettings(config);
  // A port taken (a second node on one host keeping the defaults) leaves that listener off with
  // an error in the log instead of stopping the node: AMQP is what a node must serve.
  const started = async (what: string, port: number, listening: Promise<void>): Promise<void> => {
    try {
      await listening;
      log.info({ host: config.nodeIp, port }, `${what} listener started`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      log.error({ host: config.nodeIp, port }, `${what} listener not started: port in use`);
    }
  };
  let mqtt: MqttServer | undefined;
  if (config.mqttPort !== 0 || config.mqttSslPort !== 0 || config.webMqttPort !== 0) {
    mqtt = new MqttServer({
      broker,
      metadata,
      auth,
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
    if (config.mqttPort !== 0) await started('MQTT', config.mqttPort, mqtt.listen(config.nodeIp, config.mqttPort));
    if (config.mqttSslPort !== 0) await started('MQTTS', config.mqttSslPort, mqtt.listen(config.nodeIp, config.mqttSslPort, tlsListenerOn(config, config.mqttSslPort, 'WARREN_MQTT_SSL_PORT / mqtt.listeners.ssl.default')));
  }
  let stomp: StompServer | undefined;
  if (config.stompPort !== 0 || config.stompSslPort !== 0 || config.webStompPort !== 0) {
    stomp = new StompServer({
      broker,
      metadata,
      auth,
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
    if (config.stompPort !== 0) await started('STOMP', config.stompPort, stomp.listen(config.nodeIp, config.stompPort));
    if (config.stompSslPort !== 0) await started('STOMPS', config.stompSslPort, stomp.listen(config.nodeIp, config.stompSslPort, tlsListenerOn(config, config.stompSslPort, 'WARREN_STOMP_SSL_PORT / stomp.listeners.ssl.default')));
  }
  let webMqtt: WebSocketListener | undefined;
  if (mqtt && config.webMqttPort !== 0) {
    const server = mqtt;
    webMqtt = new WebSocketListener({
      // Web-MQTT: the client must offer `mqtt` (or `mqttv3.1`), which is echoed back; otherwise HTTP 400.
      pickSubprotocol: (offered) => (offered.has('mqtt') ? 'mqtt' : offered.has('mqttv3.1') ? 'mqttv3.1' : null),
      sendText: false,
      binaryOnly: true,
      handle: (stream, remote) => void server.handle(stream, remote),
    });
    await started('Web-MQTT', config.webMqttPort, webMqtt.listen(config.nodeIp, config.webMqttPort));
  }
  let webStomp: WebSocketListener | undefined;
  if (stomp && config.webStompPort !== 0) {
    const server = stomp;
    webStomp = new WebSocketListener({
      // Web-STOMP: the highest STOMP version offered; with none offered the upgrade still succeeds.
      pickSubprotocol: (offered) => ['v12.stomp', 'v11.stomp', 'v10.stomp'].find((p) => offered.has(p)),
      sendText: true,
      binaryOnly: false,
      handle: (stream, remote) => void server.handle(stream, remote),
    });
    await started('Web-STOMP', config.webStompPort, webStomp.listen(config.nodeIp, config.webStompPort));
  }
  return {
    mqtt,
    stomp,
    webStomp,
    webMqtt,
    *listedConnections() {
      if (mqtt) yield* mqtt.connections;
      if (stomp) yield* stomp.connections;
    },
    async close() {
      await webMqtt?.close();
      await webStomp?.close();
      await mqtt?.close();
      await stomp?.close();
    },
  };
}
