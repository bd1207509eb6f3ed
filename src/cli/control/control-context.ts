import type { MetadataStore } from '../../broker/ports';
import type { ResourceAlarms } from '../../broker/alarms';
import type { ClusterStatus } from '../../../cluster/node/control-protocol';
import type { ListSource } from './control-lists';
import type { CtlTable } from './control-protocol';

/** What the handler needs of the running node. */
export interface ControlContext extends ListSource {
  metadata: MetadataStore;
  dataDir: string;
  listeners: { protocol: string; host: string; port: number }[];
  alarms: ResourceAlarms | undefined;
  startedAtMs: number;
  /** Connection accounting of the AMQP listener: its descriptor-based limit, failed accepts, dropped sockets. */
  sockets: (() => { connectionLimit: number; acceptErrors: number; droppedSockets: number }) | undefined;
  /** The Raft view of a clustered node; undefined on a single node. */
  clusterStatus: (() => ClusterStatus) | undefined;
  /** Quorum queue operations (rabbitmq-queues); undefined on a single node. */
  quorum: QuorumOperations | undefined;
}

/** What rabbitmq-queues-style commands ask of a clustered node (cluster/quorum's QuorumControl). */
export interface QuorumOperations {
  status(vhost: string, name: string): Promise<CtlTable>;
  addMember(vhost: string, name: string, node: string): Promise<void>;
  deleteMember(vhost: string, name: string, node: string): Promise<void>;
  grow(node: string, which: 'all' | 'even', vhostPattern?: string, queuePattern?: string): Promise<CtlTable>;
  shrink(node: string): Promise<CtlTable>;
  rebalance(): Promise<CtlTable>;
}
