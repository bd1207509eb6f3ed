/**
 * Starts the management side of a node: the statistics sampler, the HTTP API and web UI
 * (mgmtPort) and the Prometheus endpoint (prometheusPort). Either listener is off at port 0;
 * a port already taken is logged and the node runs on without that listener.
 */
import type { FastifyInstance } from 'fastify';
import type { ListedConnection } from '../adapter/listed-connection';
import type { Connection } from '../amqp/connection';
import type { AuthSettings } from '../auth/authenticator';
import type { ResourceAlarms } from '../broker/alarms';
import type { Broker } from '../broker/broker';
import type { MetadataStore } from '../broker/ports';
import type { Logger } from '../log/logger';
import { BrokerView, type NodeSource } from './broker-view';
import type { MgmtContext } from './context';
import { startMgmtServer } from './http-server';
import { LocalNodeSource } from './local-node-source';
import { startPrometheusServer } from './prometheus-server';
import { Shovels } from './shovels';

const HISTORY_RETENTION_MS = 600_000;

export interface ManagementOptions {
  broker: Broker;
  metadata: MetadataStore;
  auth: AuthSettings;
  connections: () => Iterable<Connection>;
  /** MQTT and STOMP connections, listed and counted beside AMQP's. */
  protocolConnections?: () => Iterable<ListedConnection>;
  alarms: ResourceAlarms | undefined;
  nodeName: string;
  startedAtMs: number;
  dataDir: string;
  version: string;
  amqpPort: number;
  host: string;
  mgmtPort: number;
  prometheusPort: number;
  sampleIntervalMs: number;
  /** Most queues whose chart history is kept at once (WARREN_MGMT_QUEUE_HISTORY_MAX). */
  queueHistoryMax: number;
  /** No rates or history (RabbitMQ management.disable_stats): the sampler only refreshes queue totals. */
  disableStats?: boolean;
  objectHistoryMax: number;
  requestMaxBytes: number;
  memoryLimitBytes: number;
  diskFreeLimitBytes: number;
  /**
   * Sources for the other members of a cluster, when clustered (called on every request, so
   * joins and leaves show at once). Given this node's source, e.g. to serve it to the others.
   */
  peers?: (local: LocalNodeSource) => () => NodeSource[];
  log: Logger;
}

export interface Management {
  /** The HTTP port actually bound (useful with port 0 in tests), or undefined when off. */
  mgmtPort: number | undefined;
  prometheusPort: number | undefined;
  local: LocalNodeSource;
  close(): Promise<void>;
}

export async function startManagement(o: ManagementOptions): Promise<Management> {
  const log = o.log.child({ module: 'mgmt' });
  const listeners = [
    { protocol: 'amqp', ip_address: o.host, port: o.amqpPort },
    ...(o.mgmtPort > 0 ? [{ protocol: 'http', ip_address: o.host, port: o.mgmtPort }] : []),
    ...(o.prometheusPort > 0 ? [{ protocol: 'http/prometheus', ip_address: o.host, port: o.prometheusPort }] : []),
  ];
  const local = new LocalNodeSource({
    broker: o.broker,
    connections: o.connections,
    protocolConnections: o.protocolConnections,
    nodeName: o.nodeName,
    startedAtMs: o.startedAtMs,
    alarms: o.alarms,
    memoryLimitBytes: o.memoryLimitBytes,
    diskFreeLimitBytes: o.diskFreeLimitBytes,
    dataDir: o.dataDir,
    listeners,
    includeRemoteQueues: o.peers === undefined,
    // RabbitMQ's basic retention: ten minutes of samples.
    history: { points: Math.min(720, Math.ceil(HISTORY_RETENTION_MS / Math.max(100, o.sampleIntervalMs))), maxQueues: o.queueHistoryMax, maxObjects: o.objectHistoryMax },
    disableStats: o.disableStats ?? false,
  });
  const peersOf = o.peers?.(local);
  const ctx: MgmtContext = {
    broker: o.broker,
    metadata: o.metadata,
    auth: o.auth,
    view: new BrokerView(peersOf ? () => [local, ...peersOf()] : [local]),
    history: local.history,
    nodeName: o.nodeName,
    clusterName: {
      get value() {
        const name = o.broker.globalParameters.get('cluster_name');
        return typeof name === 'string' ? name : o.nodeName;
      },
    },
    listeners,
    version: o.version,
    shovels: new Shovels(o.broker, o.nodeName),
    statsDisabled: o.disableStats ?? false,
  };
  // Sampling runs on a timer, never on the message path; an error in it is logged, not thrown.
  let sampleErrors = 0;
  const sample = () => {
    try {
      local.sample(Date.now());
    } catch (err) {
      if (sampleErrors++ < 5) log.error({ err }, 'statistics sample failed');
    }
  };
  sample();
  const timer = setInterval(sample, Math.max(100, o.sampleIntervalMs));
  timer.unref();

  const listen = async (what: string, port: number, start: () => Promise<FastifyInstance>) => {
    if (port === 0) return undefined;
    try {
      const app = await start();
      log.info({ host: o.host, port }, `${what} listener started`);
      return app;
    } catch (err) {
      log.error({ err, port }, `${what} listener could not start; the node runs without it`);
      return undefined;
    }
  };
  const http = await listen('management', o.mgmtPort, () => startMgmtServer(ctx, { host: o.host, port: o.mgmtPort, bodyMaxBytes: o.requestMaxBytes, log: o.log }));
  const prometheus = await listen('prometheus', o.prometheusPort, () => startPrometheusServer(ctx, { host: o.host, port: o.prometheusPort }));
  return {
    mgmtPort: http ? o.mgmtPort : undefined,
    prometheusPort: prometheus ? o.prometheusPort : undefined,
    local,
    async close() {
      clearInterval(timer);
      await Promise.all([http?.close(), prometheus?.close()]);
    },
  };
}
