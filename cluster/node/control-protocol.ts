/**
 * warrenctl's requests to a node, on the mesh channel 'ctl'. warrenctl joins the mesh as
 * a temporary peer named `!warrenctl-<pid>@<host>` (the '!' sorts first, so it dials and
 * is never dialled back), authenticated by the cluster secret like any node.
 * Requests and replies are JSON; a failed request is a reply `{error}`.
 */
export const CONTROL_CHANNEL = 'ctl';

/** The name prefix of temporary control peers; nodes never treat them as cluster members. */
export const CONTROL_PEER_PREFIX = '!';

export type ControlRequest =
  | { op: 'cluster_status' }
  | { op: 'join_cluster'; node: string }
  | { op: 'forget_cluster_node'; node: string };

export interface MemberStatus {
  node: string;
  suffrage: string;
  /** Reachable from the answering node (always true for itself). */
  up: boolean;
  leader: boolean;
}

export interface ClusterStatus {
  node: string;
  leader: string;
  term: number;
  state: string;
  commitIndex: number;
  appliedIndex: number;
  members: MemberStatus[];
  /** Mesh peers that are not members (e.g. discovered, or joining). */
  otherPeers: { node: string; up: boolean }[];
}

export type ControlReply = { ok: true; status: ClusterStatus; message?: string } | { ok: false; error: string };
