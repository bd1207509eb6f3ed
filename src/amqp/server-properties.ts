import type { FieldTable } from '../protocol/field-table';

export const WARREN_VERSION = '0.1.0';

/** The server-properties table of connection.start, shaped as RabbitMQ sends it. */
export function serverProperties(clusterName: string): FieldTable {
  return {
    capabilities: {
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      consumer_priorities: true,
      authentication_failure_close: true,
      per_consumer_qos: true,
      direct_reply_to: true,
    },
    cluster_name: clusterName,
    copyright: 'Copyright (c) 2026 the Warren authors',
    information: 'Warren, a RabbitMQ-compatible broker. Licensed under the MIT licence.',
    platform: `Node.js ${process.version}`,
    product: 'Warren',
    version: WARREN_VERSION,
  };
}
