import type { AuthSettings } from '../auth/authenticator';
import type { Broker } from '../broker/broker';
import type { MetadataStore } from '../broker/ports';
import type { Logger } from '../log/logger';

export interface StompOptions {
  defaultUser: string;
  defaultPass: string;
  /** Vhost of CONNECTs without a host header (stomp.default_vhost). */
  defaultVhost: string;
  /** The exchange of /topic destinations (stomp.default_topic_exchange). */
  topicExchange: string;
  nackRequeue: boolean;
}

/** What every STOMP connection of a node shares. */
export interface StompContext {
  readonly broker: Broker;
  readonly metadata: MetadataStore;
  /** Loopback-only users and the like, as for AMQP logins. */
  readonly auth: AuthSettings;
  readonly options: StompOptions;
  readonly log: Logger;
  readonly nodeName: string;
}
