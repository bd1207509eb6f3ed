/** A clustered node: formation, membership and warrenctl's control channel (see cluster-node.ts). */
export { ClusterNode, type ClusterNodeOptions } from './cluster-node';
export { CONTROL_CHANNEL, CONTROL_PEER_PREFIX, type ControlRequest, type ControlReply, type ClusterStatus, type MemberStatus } from './control-protocol';
export { raftDir, wipeRaftStores } from './raft-stores';
export { clusterEnabled, clusterOptionsFromConfig } from './from-config';
export type { ClusterInfo } from './membership-rpc';
