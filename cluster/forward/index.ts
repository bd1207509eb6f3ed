/** Clustered messaging: queue homes, forwarding, remote consumers (see queue-service.ts). */
export { QueueService, type QueueServiceOptions } from './queue-service';
export { placeQueue } from './placement';
