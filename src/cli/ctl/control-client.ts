/**
 * warrenctl's connection to a node: a temporary mesh peer named `!warrenctl-<pid>@<host>`
 * that proves the cluster secret like any node, finds the target through the port
 * mapper of the target's host, sends one 'ctl' request and leaves.
 */
import { hostname } from 'node:os';
import { Mesh } from '../../../cluster/mesh';
import { parseNodeName, resolveNodeName } from '../../../cluster/discovery';
import { CONTROL_CHANNEL, CONTROL_PEER_PREFIX, type ControlReply, type ControlRequest } from '../../../cluster/node/control-protocol';
import { logger } from '../../log/logger';

export interface ControlClientOptions {
  node: string;
  secret: Buffer;
  epmdPort: number;
  timeoutMs: number;
}

/** Sends one request; rejects with an Error whose message is fit for the user. */
export async function controlRequest(o: ControlClientOptions, request: ControlRequest): Promise<ControlReply> {
  const { host, alive } = parseNodeName(o.node);
  let resolved;
  try {
    resolved = await resolveNodeName(o.node, { epmdPort: o.epmdPort, timeoutMs: Math.min(o.timeoutMs, 5000) });
  } catch (err) {
    throw new Error(`cannot reach the port mapper of ${host} on port ${o.epmdPort}: ${(err as Error).message}`);
  }
  if (!resolved) throw new Error(`node ${o.node} is not running (no '${alive}' registered with the port mapper of ${host}:${o.epmdPort})`);
  const mesh = new Mesh({
    nodeName: `${CONTROL_PEER_PREFIX}warrenctl-${process.pid}@${hostname()}`,
    secret: o.secret,
    port: 0,
    host: '127.0.0.1',
    tickMs: Math.max(o.timeoutMs, 4000),
    logger: logger.child({ module: 'warrenctl' }, { level: 'silent' }),
  });
  await mesh.start();
  try {
    mesh.connect(o.node, { host: resolved.host, port: resolved.distPort });
    try {
      await mesh.whenUp(o.node, Math.min(o.timeoutMs, 5000));
    } catch {
      const why = mesh.peers().find((p) => p.name === o.node)?.lastError ?? 'no answer';
      throw new Error(`cannot connect to ${o.node} at ${resolved.host}:${resolved.distPort} (${why}); is the cluster secret right?`);
    }
    const reply = await mesh.request(o.node, CONTROL_CHANNEL, Buffer.from(JSON.stringify(request)), o.timeoutMs);
    return JSON.parse(reply.toString('utf8')) as ControlReply;
  } finally {
    await mesh.close();
  }
}
