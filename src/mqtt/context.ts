import type { AuthSettings } from '../auth/authenticator';
import type { Broker } from '../broker/broker';
import type { MetadataStore } from '../broker/ports';
import type { Logger } from '../log/logger';
import type { ClientRegistry } from './client-registry';
import type { RetainedStore } from './retained-store';

export interface MqttOptions {
  /** Vhost of logins without the vhost:user form (mqtt.vhost). */
  vhost: string;
  /** The topic exchange of every publish and subscription (mqtt.exchange). */
  exchange: string;
  /** Most unacked QoS 1 deliveries per connection (mqtt.prefetch). */
  prefetch: number;
  maxSessionExpirySeconds: number;
  /** Credentials used when a client sends none (RabbitMQ's anonymous_login_user/pass). */
  anonymousUser: string;
  anonymousPass: string;
}

/** What every MQTT connection of a node shares. */
export interface MqttContext {
  readonly broker: Broker;
  readonly metadata: MetadataStore;
  /** Loopback-only users and the like, as for AMQP logins. */
  readonly auth: AuthSettings;
  readonly retained: RetainedStore;
  readonly clients: ClientRegistry;
  readonly options: MqttOptions;
  readonly log: Logger;
  /** The node's name, for the owner id of exclusive queues. */
  readonly nodeName: string;
}
