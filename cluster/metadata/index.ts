/** Metadata on Raft: the FSM, the MetadataStore and Raft's transport over the mesh. */
export { MetadataFsm } from './metadata-fsm';
export { RaftMetadataStore, metadataUnavailable, METADATA_APPLY_CHANNEL, type RaftMetadataStoreOptions } from './raft-metadata-store';
export { RaftMeshTransport, RAFT_CHANNEL } from './raft-mesh-transport';
export { allDefinitions, encodeImage, decodeImage } from './definitions-image';
export type { ApplyOutcome } from './apply-outcome';
