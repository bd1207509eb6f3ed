/** Quorum queues: a Raft group per queue, replicated on its members (see quorum-service.ts). */
export { QuorumService, type QuorumServiceOptions, type QuorumMemberStatus } from './quorum-service';
export { QuorumQueue } from './quorum-queue';
export { placeQuorum } from './quorum-placement';
export { QuorumControl, type Table as QuorumTable } from './quorum-control';
export { MembershipReconciler } from './membership-reconciler';
