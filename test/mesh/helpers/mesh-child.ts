/**
 * A mesh node in its own process, driven by a parent test over IPC (see child-node.ts).
 * Configuration from the environment: MESH_NODE, MESH_PORT, MESH_SECRET, MESH_TICK_MS,
 * MESH_PEERS (JSON [{name, host, port}]). Channels it serves:
 *   echo (request)         → "<this node>:<payload>"
 *   collect (send)         → payloads kept per sender, read back with the 'received' command
 *   throw (send, request)  → throws
 *   bench (send)           → counted; bench-count (request) → the count as decimal text
 */
import { Mesh } from '../../../cluster/mesh/mesh';

interface Command {
  id: number;
  cmd: 'connect' | 'disconnect' | 'send' | 'request' | 'peers' | 'received' | 'close';
  name?: string;
  host?: string;
  port?: number;
  to?: string;
  channel?: string;
  payloads?: string[];
  payload?: string;
  timeoutMs?: number;
}

const env = process.env;
const nodeName = env.MESH_NODE!;
const mesh = new Mesh({
  nodeName,
  secret: env.MESH_SECRET!,
  port: Number(env.MESH_PORT),
  host: '127.0.0.1',
  tickMs: Number(env.MESH_TICK_MS ?? 1000),
  backoff: { initialMs: 50, maxMs: 500 },
});

const received = new Map<string, string[]>();
let benchCount = 0;

mesh.handle('echo', (_from, payload) => Buffer.from(`${nodeName}:${payload.toString('utf8')}`));
mesh.handle('collect', (from, payload) => {
  let list = received.get(from);
  if (list === undefined) received.set(from, (list = []));
  list.push(payload.toString('utf8'));
});
mesh.handle('throw', () => {
  throw new Error('handler failure on purpose');
});
mesh.handle('bench', () => {
  benchCount++;
});
mesh.handle('bench-count', () => Buffer.from(String(benchCount)));

mesh.on('nodeup', (name) => process.send!({ event: 'nodeup', name }));
mesh.on('nodedown', (name, reason) => process.send!({ event: 'nodedown', name, reason }));

process.on('message', (m: Command) => {
  void run(m).then(
    (result) => process.send!({ reply: m.id, result }),
    (err: Error & { code?: string }) => process.send!({ reply: m.id, error: { message: err.message, code: err.code } }),
  );
});

async function run(m: Command): Promise<unknown> {
  switch (m.cmd) {
    case 'connect':
      mesh.connect(m.name!, { host: m.host!, port: m.port! });
      return null;
    case 'disconnect':
      mesh.disconnect(m.name!);
      return null;
    case 'send':
      for (const p of m.payloads!) mesh.send(m.to!, m.channel!, Buffer.from(p));
      return null;
    case 'request':
      return (await mesh.request(m.to!, m.channel!, Buffer.from(m.payload ?? ''), m.timeoutMs ?? 2000)).toString('utf8');
    case 'peers':
      return mesh.peers();
    case 'received':
      return received.get(m.name!) ?? [];
    case 'close':
      await mesh.close();
      setImmediate(() => process.exit(0));
      return null;
  }
}

void mesh.start().then(
  () => {
    for (const p of JSON.parse(env.MESH_PEERS ?? '[]') as { name: string; host: string; port: number }[]) {
      mesh.connect(p.name, { host: p.host, port: p.port });
    }
    process.send!({ event: 'ready', port: mesh.port });
  },
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
