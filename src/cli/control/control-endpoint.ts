/** Wires the control socket to a running node (called by node.ts, clustered or not). */
import type { AmqpServer } from '../../amqp/server';
import type { ResourceAlarms } from '../../broker/alarms';
import type { Broker } from '../../broker/broker';
import type { MetadataStore } from '../../broker/ports';
import type { Config } from '../../config/config';
import type { Logger } from '../../log/logger';
import type { ClusterNode } from '../../../cluster/node/cluster-node';
import { clusterStatus } from '../../../cluster/node/control-handler';
import { handleControlRequest, type ControlContext } from './control-handler';
import { ControlServer } from './control-server';

/** The running node's parts the control socket reads and changes. */
export interface ControlEndpointOptions {
  broker: Broker;
  metadata: MetadataStore;
  amqp: AmqpServer;
  alarms: ResourceAlarms | undefined;
  config: Config;
  cluster: ClusterNode | undefined;
  startedAtMs: number;
  log: Logger;
}

/** Starts `<data dir>/warren.sock`; undefined when it cannot be offered (the reason is logged). */
export function startControlEndpoint(o: ControlEndpointOptions): Promise<ControlServer | undefined> {
  const { cluster, config } = o;
  const ctx: ControlContext = {
    broker: o.broker,
    metadata: o.metadata,
    connections: () => o.amqp.connections,
    nodeName: config.nodeName,
    dataDir: config.dataDir,
    listeners: [{ protocol: 'amqp', host: config.nodeIp, port: config.nodePort }, ...(config.sslPort ? [{ protocol: 'amqp/ssl', host: config.nodeIp, port: config.sslPort }] : [])],
    alarms: o.alarms,
    sockets: () => ({ connectionLimit: o.amqp.maxSockets, acceptErrors: o.amqp.acceptErrors, droppedSockets: o.amqp.droppedSockets }),
    startedAtMs: o.startedAtMs,
    quorum: cluster?.quorumControl,
    clusterStatus: cluster ? () => clusterStatus({ nodeName: config.nodeName, mesh: cluster.mesh, info: () => cluster.info() }) : undefined,
  };
  return ControlServer.start({ dataDir: config.dataDir, log: o.log, handle: (request) => handleControlRequest(ctx, request) });
}
