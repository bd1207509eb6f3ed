/** cluster_status as text, in the spirit of rabbitmqctl's. */
import type { ClusterStatus } from '../../../cluster/node/control-protocol';

export function formatStatus(s: ClusterStatus): string {
  const lines = [`Cluster status of node ${s.node}`, ''];
  if (s.state === 'single') {
    lines.push('Single node (not clustered)', '', 'Members', `  ${s.node}  running`);
  } else if (s.members.length === 0) {
    lines.push('This node is not in a cluster yet (forming or joining).');
  } else {
    lines.push(`Leader: ${s.leader || '(none: no quorum)'}   term ${s.term}   commit ${s.commitIndex}   applied ${s.appliedIndex}`, '', 'Members');
    for (const m of s.members) {
      const flags = [m.up ? 'running' : 'down', m.suffrage, m.leader ? 'leader' : ''].filter((f) => f !== '');
      lines.push(`  ${m.node}  ${flags.join(', ')}`);
    }
  }
  if (s.otherPeers.length > 0) {
    lines.push('', 'Other known peers (not members)');
    for (const p of s.otherPeers) lines.push(`  ${p.node}  ${p.up ? 'running' : 'down'}`);
  }
  return lines.join('\n');
}
