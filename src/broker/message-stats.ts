/**
 * Message counters kept on channels, queues, exchanges and vhosts for the management API's
 * message_stats and the Prometheus counters. The hot path only increments fields of an object
 * allocated once per owner; rates are computed elsewhere (src/mgmt) by sampling these totals.
 */
export class MessageCounters {
  /** Published by a channel / into a queue / within a vhost. */
  publish = 0;
  /** Published into an exchange. */
  publishIn = 0;
  /** Routed out of an exchange to at least one queue. */
  publishOut = 0;
  confirm = 0;
  /** Delivered to consumers with manual acknowledgement. */
  deliver = 0;
  deliverNoAck = 0;
  get = 0;
  getNoAck = 0;
  getEmpty = 0;
  redeliver = 0;
  ack = 0;
  returnUnroutable = 0;
  dropUnroutable = 0;
}

/** The counter names, as fields of MessageCounters. */
export const COUNTER_FIELDS = ['publish', 'publishIn', 'publishOut', 'confirm', 'deliver', 'deliverNoAck', 'get', 'getNoAck', 'getEmpty', 'redeliver', 'ack', 'returnUnroutable', 'dropUnroutable'] as const;
export type CounterField = (typeof COUNTER_FIELDS)[number];

/** Object churn of a node, for the overview's churn_rates and Prometheus: counted where objects come and go. */
export class ChurnCounters {
  connectionCreated = 0;
  connectionClosed = 0;
  channelCreated = 0;
  channelClosed = 0;
  queueDeclared = 0;
  queueCreated = 0;
  queueDeleted = 0;
}
