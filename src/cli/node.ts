import { AmqpServer } from '../amqp/server';
import { hashPassword } from '../auth/password';
import { Broker } from '../broker/broker';
import { LocalMetadataStore } from '../broker/local-metadata-store';
import type { Config } from '../config/config';
import { logger } from '../log/logger';

export interface RunningNode {
  broker: Broker;
  amqp: AmqpServer;
  stop(): Promise<void>;
}

/** Wires a single Warren node together: model, metadata store, default definitions, listeners. */
export async function startNode(config: Config): Promise<RunningNode> {
  logger.level = config.logLevel;
  const broker = new Broker();
  const metadata = new LocalMetadataStore(broker);
  broker.onQueueExpired = (queue) => {
    metadata.apply({ op: 'queue.delete', vhost: queue.vhost, name: queue.name, ifUnused: false, ifEmpty: false }).catch((err) => logger.warn({ err, queue: queue.name }, 'queue expiry failed'));
  };
  await metadata.apply({ op: 'vhost.add', vhost: config.defaultVhost });
  await metadata.apply({ op: 'user.put', user: { name: config.defaultUser, passwordHash: hashPassword(config.defaultPass), tags: ['administrator'] } });
  await metadata.apply({ op: 'permission.set', permission: { user: config.defaultUser, vhost: config.defaultVhost, configure: '.*', write: '.*', read: '.*' } });

  const amqp = new AmqpServer(
    broker,
    metadata,
    {
      host: config.nodeIp,
      port: config.nodePort,
      clusterName: config.nodeName,
      limits: { channelMax: config.channelMax, frameMaxBytes: config.frameMaxBytes, heartbeatSeconds: config.heartbeatSeconds, handshakeTimeoutMs: 10_000 },
    },
    logger,
  );
  await amqp.listen();
  logger.info({ host: config.nodeIp, port: config.nodePort, node: config.nodeName }, 'AMQP listener started');
  return {
    broker,
    amqp,
    async stop() {
      await amqp.close();
    },
  };
}
