/**
 * The queue arguments RabbitMQ compares when a queue is declared again (its declare_args list):
 * a redeclaration that differs only in other arguments, such as a non-x- key or an x- key
 * RabbitMQ does not know, is accepted and the queue keeps its original arguments.
 */
export const EQUIVALENCE_CHECKED_ARGS: ReadonlySet<string> = new Set([
  'x-expires',
  'x-message-ttl',
  'x-dead-letter-exchange',
  'x-dead-letter-routing-key',
  'x-dead-letter-strategy',
  'x-max-length',
  'x-max-length-bytes',
  'x-max-in-memory-length',
  'x-max-in-memory-bytes',
  'x-max-priority',
  'x-overflow',
  'x-queue-mode',
  'x-queue-version',
  'x-single-active-consumer',
  'x-queue-type',
  'x-quorum-initial-group-size',
  'x-max-age',
  'x-stream-max-segment-size-bytes',
  'x-initial-cluster-size',
  'x-queue-leader-locator',
  'x-delivery-limit',
]);
