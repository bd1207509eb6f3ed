/**
 * `warrenctl reset`: wipes a stopped node's data dir (definitions, messages, Raft state),
 * keeping its cluster secret, as `rabbitmqctl reset` leaves the Erlang cookie. Refuses
 * when the node is running: registered with its port mapper (clustered), or answering on
 * the data dir's control socket (any node).
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { lookupPort, parseNodeName } from '../../../cluster/discovery';
import { CLUSTER_SECRET_FILE } from '../../../cluster/mesh';
import { controlSocketAlive } from './socket-client';

export async function resetNode(o: { node: string; dataDir: string; epmdPort: number }): Promise<string> {
  const { alive } = parseNodeName(o.node);
  if (await controlSocketAlive(o.dataDir)) throw new Error(`the node of ${o.dataDir} is running; stop it before reset (its control socket answers)`);
  let running = false;
  try {
    running = (await lookupPort('127.0.0.1', alive, { epmdPort: o.epmdPort, timeoutMs: 2000 })) !== undefined;
  } catch {
    // No port mapper answers: no node of this host is running.
  }
  if (running) throw new Error(`node ${o.node} is running; stop it before reset`);
  if (!existsSync(o.dataDir)) return `nothing to reset: ${o.dataDir} does not exist`;
  const removed: string[] = [];
  for (const name of readdirSync(o.dataDir)) {
    if (name === CLUSTER_SECRET_FILE) continue;
    rmSync(join(o.dataDir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return `reset ${o.node}: removed ${removed.length ? removed.join(', ') : 'nothing'} from ${o.dataDir}. If it was a cluster member, run forget_cluster_node ${o.node} on a running member, or let it rejoin under the same name.`;
}
