/** The node side of warrenctl: answers 'ctl' requests (see control-protocol.ts). */
import type { Mesh } from '../mesh';
import type { Logger } from '../../src/log/logger';
import { CONTROL_CHANNEL, CONTROL_PEER_PREFIX, type ClusterStatus, type ControlReply, type ControlRequest } from './control-protocol';
import type { ClusterInfo } from './membership-rpc';

export interface ControlTarget {
  nodeName: string;
  mesh: Mesh;
  info(): ClusterInfo;
  joinCluster(node: string): Promise<string>;
  forgetClusterNode(node: string): Promise<string>;
  log: Logger;
}

export function clusterStatus(t: Pick<ControlTarget, 'nodeName' | 'mesh' | 'info'>): ClusterStatus {
  const info = t.info();
  const memberIds = new Set(info.members.map((m) => m.id));
  return {
    node: info.node,
    leader: info.leader,
    term: info.term,
    state: info.state,
    commitIndex: info.commitIndex,
    appliedIndex: info.appliedIndex,
    members: info.members.map((m) => ({ node: m.id, suffrage: m.suffrage, up: m.id === t.nodeName || t.mesh.isUp(m.id), leader: m.id === info.leader })),
    otherPeers: t.mesh
      .peers()
      .filter((p) => !memberIds.has(p.name) && !p.name.startsWith(CONTROL_PEER_PREFIX))
      .map((p) => ({ node: p.name, up: p.status === 'up' })),
  };
}

export function registerControl(t: ControlTarget): () => void {
  return t.mesh.handle(CONTROL_CHANNEL, async (from, payload) => {
    let reply: ControlReply;
    try {
      const req = JSON.parse(payload.toString('utf8')) as ControlRequest;
      t.log.info({ from, op: req.op }, 'control request');
      let message: string | undefined;
      switch (req.op) {
        case 'cluster_status':
          break;
        case 'join_cluster':
          message = await t.joinCluster(req.node);
          break;
        case 'forget_cluster_node':
          message = await t.forgetClusterNode(req.node);
          break;
        default:
          throw new Error(`unknown control request ${JSON.stringify((req as { op: unknown }).op)}`);
      }
      reply = { ok: true, status: clusterStatus(t), message };
    } catch (err) {
      reply = { ok: false, error: (err as Error).message };
    }
    return Buffer.from(JSON.stringify(reply), 'utf8');
  });
}
