import { join } from 'node:path';
import { AmqpServer } from '../amqp/server';
import { hashPassword } from '../auth/password';
import { Broker } from '../broker/broker';
import { DurableMetadataStore } from '../broker/durable-metadata-store';
import type { MetadataStore } from '../broker/ports';
import type { Config } from '../config/config';
import { logger } from '../log/logger';
import { RecordLog } from '../store/record-log';
import { parseSize, ResourceAlarms } from '../broker/alarms';
import { totalmem } from 'node:os';
import { openVhostStores, type VhostStores } from './vhost-stores';
import { setDefaultPagingLimits } from '../broker/queue/paged-messages';
import type { ClusterNode } from '../../cluster/node/cluster-node';
import { clusterEnabled, clusterOptionsFromConfig } from '../../cluster/node/from-config';
import { startControlEndpoint } from './control/control-endpoint';
import { authSettings, tlsListener } from './tls-settings';
import { connectionLimitFromFds, raiseFdLimit, type FdLimit } from '../util/fd-limit';
import { startManagement } from '../mgmt/management';
import { warrenVersion } from './control/node-status';
import { startProtocolListeners } from './protocol-listeners';

export interface RunningNode {
  broker: Broker;
  metadata: MetadataStore;
  amqp: AmqpServer;
  stop(): Promise<void>;
}

/** Wires a single Warren node together: model, durable metadata, message stores, listeners. */
export async function startNode(config: Config): Promise<RunningNode> {
  logger.level = config.logLevel;
  const started = Date.now();
  // As RabbitMQ's start script does with ulimit: use every descriptor the hard limit allows.
  const fdLimit = raiseFdLimit();
  logger.info({ soft: fdLimit?.soft, hard: fdLimit?.hard }, 'file descriptor limit');
  const broker = new Broker();
  // Clustered: metadata is replicated by Raft (cluster/node); else the single-node durable log.
  let cluster: ClusterNode | undefined;
  let metadataLog: RecordLog | undefined;
  let metadata: MetadataStore;
  let recoveredCommands = 0;
  if (clusterEnabled(config)) {
    // Loaded only when clustered: a single node never pays for gRPC and Raft.
    const { ClusterNode } = await import('../../cluster/node/cluster-node.js');
    cluster = await ClusterNode.start({ ...clusterOptionsFromConfig(config), broker, createDefaults: (m) => createDefaults(m, config), log: logger });
    metadata = cluster.metadata;
  } else {
    metadataLog = RecordLog.open(join(config.dataDir, 'metadata'), 'definitions');
    const durable = new DurableMetadataStore(broker, metadataLog);
    recoveredCommands = durable.recover();
    metadata = durable;
    if (broker.users.size === 0 && broker.vhosts.size === 0) await createDefaults(metadata, config);
  }
  broker.onQueueExpired = (queue) => {
    // Every node holds a copy of a clustered queue; only its owner proposes the deletion.
    if (queue.def.ownerNode !== undefined && queue.def.ownerNode !== config.nodeName) return;
    metadata.apply({ op: 'queue.delete', vhost: queue.vhost, name: queue.name, ifUnused: false, ifEmpty: false }).catch((err) => logger.warn({ err, queue: queue.name }, 'queue expiry failed'));
  };
  setDefaultPagingLimits({ maxMessages: config.queueMemoryMessages, maxBytes: config.queueMemoryBytes, pageBatch: Math.max(1, config.queuePageBatch) });
  const stores: VhostStores = await openVhostStores(broker, join(config.dataDir, 'msgs'), {
    cacheMaxBytes: config.storeCacheBytes,
    statsIntervalMs: config.storeStatsMs === 0 ? undefined : config.storeStatsMs,
  });
  logger.info({ recoveredCommands, recoveredMessages: stores.recoveredMessages, ms: Date.now() - started }, 'recovery finished');

  const alarms = new ResourceAlarms({
    memoryHighWatermarkBytes: parseSize(config.memoryHighWatermark, totalmem()),
    diskFreeLimitBytes: parseSize(config.diskFreeLimit),
    dataDir: config.dataDir,
    checkIntervalMs: 100,
  });
  alarms.on('change', (active: Set<string>) => broker.setMemoryAlarm(active.has('memory')));
  // A store that ran out of space turns the disk alarm on at once, before the next check.
  stores.onStallChange = (stalled) => alarms.setStoreFull(stalled);
  alarms.setStoreFull(stores.stalled);
  alarms.start();
  const amqp = new AmqpServer(
    broker,
    metadata,
    {
      host: config.nodeIp,
      port: config.nodePort,
      clusterName: config.nodeName,
      alarms,
      maxSockets: socketLimit(config.socketLimit, fdLimit),
      auth: authSettings(config),
      tls: tlsListener(config),
      consumerTimeoutMs: config.consumerTimeoutMs,
      limits: { channelMax: config.channelMax, frameMaxBytes: config.frameMaxBytes, heartbeatSeconds: config.heartbeatSeconds, handshakeTimeoutMs: 10_000, maxConnections: nodeConnectionLimit(config.maxConnections) },
    },
    logger,
  );
  broker.onUserDeleted = (name) => {
    for (const c of amqp.connections) if (c.user === name) c.forceClose(`user '${name}' is deleted`);
  };
  await amqp.listen();
  logger.info({ host: amqp.address()?.host ?? config.nodeIp, port: config.nodePort, tlsPort: config.sslPort || undefined, node: config.nodeName }, 'AMQP listener started');
  const protocols = await startProtocolListeners(broker, metadata, config, logger);
  // warrenctl's local endpoint, <data dir>/warren.sock (mode 0600).
  const control = await startControlEndpoint({ broker, metadata, amqp, alarms, config, cluster, startedAtMs: started, log: logger });
  const management = await startManagement({
    broker, metadata, auth: authSettings(config), connections: () => amqp.connections, protocolConnections: () => protocols.listedConnections(), alarms, nodeName: config.nodeName, startedAtMs: started, dataDir: config.dataDir,
    version: warrenVersion(), amqpPort: config.nodePort, host: config.mgmtIp, mgmtPort: config.mgmtPort, prometheusPort: config.prometheusPort,
    sampleIntervalMs: config.mgmtSampleIntervalMs, queueHistoryMax: config.mgmtQueueHistoryMax, objectHistoryMax: config.mgmtObjectHistoryMax, disableStats: config.mgmtDisableStats, requestMaxBytes: config.mgmtRequestMaxBytes,
    memoryLimitBytes: parseSize(config.memoryHighWatermark, totalmem()), diskFreeLimitBytes: parseSize(config.diskFreeLimit), log: logger,
    // Clustered, every node's API answers for the whole cluster.
    peers: cluster ? (local) => cluster!.managementPeers(local) : undefined,
  });
  return {
    broker,
    metadata,
    amqp,
    async stop() {
      await control?.close();
      await management.close();
      alarms.stop();
      await protocols.close();
      await amqp.close();
      await stores.close();
      await cluster?.stop();
      metadataLog?.close();
    },
  };
}

/** WARREN_SOCKET_LIMIT: auto (from the descriptor limit), infinity, or a number. */
function socketLimit(setting: string, fdLimit: FdLimit | undefined): number {
  if (setting === 'auto') return connectionLimitFromFds(fdLimit);
  if (setting === 'infinity') return Infinity;
  const n = Number(setting);
  if (!Number.isInteger(n) || n < 1) throw new Error(`WARREN_SOCKET_LIMIT must be auto, infinity or a positive integer, got '${setting}'`);
  return n;
}

/** max_connections (WARREN_MAX_CONNECTIONS): infinity or a non-negative number. */
function nodeConnectionLimit(setting: string): number | undefined {
  if (setting === 'infinity') return undefined;
  const n = Number(setting);
  if (!Number.isInteger(n) || n < 0) throw new Error(`max_connections (WARREN_MAX_CONNECTIONS) must be infinity or a non-negative integer, got '${setting}'`);
  return n;
}

/** A first start (empty data dir) creates the default vhost and user, as RabbitMQ does. */
async function createDefaults(metadata: MetadataStore, config: Config): Promise<void> {
  await metadata.apply({ op: 'vhost.add', vhost: config.defaultVhost });
  await metadata.apply({ op: 'user.put', user: { name: config.defaultUser, passwordHash: hashPassword(config.defaultPass), tags: ['administrator'] } });
  await metadata.apply({ op: 'permission.set', permission: { user: config.defaultUser, vhost: config.defaultVhost, configure: '.*', write: '.*', read: '.*' } });
}
