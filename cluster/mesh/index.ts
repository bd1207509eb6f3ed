/** The inter-node mesh: see mesh.ts. */
export { Mesh } from './mesh';
export { DEFAULT_MESH_PORT, meshPortFor, type MeshOptions, type PeerResolver } from './mesh-options';
export type { MeshHandler } from './inbound-dispatcher';
export { MeshError, isMeshError, type MeshErrorCode } from './mesh-errors';
export type { PeerAddress, PeerInfo, PeerStatus, BackoffOptions } from './peer';
export type { MeshTlsOptions } from './grpc-service';
export { loadClusterSecret, CLUSTER_SECRET_ENV, CLUSTER_SECRET_FILE, type ClusterSecret } from './cluster-secret';
