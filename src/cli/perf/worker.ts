import { parentPort, workerData } from 'node:worker_threads';
import type { PerfOptions } from './options';
import { RoleGroup, type RoleSpec } from './role-group';

/**
 * Worker-thread entry: runs a RoleGroup and answers the coordinator's requests
 * ({id, op}) with {id, value} or {id, error}. See WorkerGroup for the other side.
 */
interface Request {
  id: number;
  op: 'setup' | 'start' | 'snapshot' | 'stop' | 'close';
}

const data = workerData as { opts: PerfOptions; specs: RoleSpec[] };
const group = new RoleGroup(data.opts, data.specs);
const port = parentPort!;

port.on('message', (req: Request) => {
  group[req.op]()
    .then((value) => port.postMessage({ id: req.id, value }))
    .catch((err: Error) => port.postMessage({ id: req.id, error: err.message }));
});
