/** What the management routes read and change: the model, its MetadataStore and the live view. */
import type { AuthSettings } from '../auth/authenticator';
import type { Broker } from '../broker/broker';
import type { MetadataStore } from '../broker/ports';
import type { BrokerView, Row } from './broker-view';
import type { Shovels } from './shovels';
import type { StatsHistory } from './stats-history';

export interface MgmtContext {
  broker: Broker;
  metadata: MetadataStore;
  /** Loopback-only users and mechanisms, as for AMQP logins. */
  auth: AuthSettings;
  view: BrokerView;
  /** This node's chart history (overview samples). */
  history: StatsHistory;
  nodeName: string;
  /** Cluster name shown by /api/cluster-name and the overview: the global parameter cluster_name, else the node name. */
  clusterName: { readonly value: string };
  /** Listeners of this node as /api/overview lists them. */
  listeners: Row[];
  /** Moves between queues started through shovel parameters (the UI's "Move messages"). */
  shovels: Shovels;
  /** The product version reported as rabbitmq_version / product_version. */
  version: string;
  /** management.disable_stats: rates and history are not sampled. */
  statsDisabled?: boolean;
}
