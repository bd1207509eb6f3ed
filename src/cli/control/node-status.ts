/** `warrenctl status`: what rabbitmqctl status reports that Warren has (runtime, listeners, alarms, totals). */
import { vhostMessages } from './queue-figures';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ControlContext } from './control-context';
import { fdsInUse, readFdLimit } from '../../util/fd-limit';

let version: string | undefined;

/** Warren's version from package.json (dist/src/cli/control → the repo root). */
export function warrenVersion(): string {
  if (version === undefined) {
    try {
      version = String((JSON.parse(readFileSync(join(__dirname, '../../../../package.json'), 'utf8')) as { version?: unknown }).version ?? 'unknown');
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

/** The status of this node as plain JSON (the shape `warrenctl status --formatter json` prints). */
export async function nodeStatus(ctx: ControlContext): Promise<Record<string, unknown>> {
  let queues = 0;
  let messages = 0;
  for (const v of ctx.broker.vhosts.values()) {
    queues += v.queues.size;
    messages += await vhostMessages(v);
  }
  let connections = 0;
  for (const _c of ctx.connections()) connections++;
  const mem = memoryUsage();
  const fds = readFdLimit();
  const sockets = ctx.sockets?.();
  const finite = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? 'unlimited' : n);
  return {
    node: ctx.nodeName,
    product_name: 'Warren',
    product_version: warrenVersion(),
    runtime: `Node.js ${process.version}`,
    os_pid: process.pid,
    uptime_seconds: Math.round((Date.now() - ctx.startedAtMs) / 1000),
    data_directory: ctx.dataDir,
    clustered: ctx.clusterStatus !== undefined,
    listeners: ctx.listeners,
    alarms: ctx.alarms ? [...ctx.alarms.active] : [],
    memory: { rss: mem.rss, heap_used: mem.heapUsed, heap_total: mem.heapTotal, external: mem.external },
    file_descriptors: {
      limit: finite(fds?.soft),
      hard_limit: finite(fds?.hard),
      used: fdsInUse() ?? 'unknown',
      connection_limit: finite(sockets?.connectionLimit),
      accept_errors: sockets?.acceptErrors ?? 0,
      dropped_connections: sockets?.droppedSockets ?? 0,
    },
    alarm_check_failures: ctx.alarms?.checkFailures ?? 0,
    totals: { virtual_hosts: ctx.broker.vhosts.size, users: ctx.broker.users.size, queues, messages, connections },
  };
}

/** process.memoryUsage() reads /proc and throws EMFILE when descriptors ran out: fall back to the heap figures. */
function memoryUsage(): { rss: number; heapUsed: number; heapTotal: number; external: number } {
  try {
    return process.memoryUsage();
  } catch {
    const h = require('node:v8').getHeapStatistics() as { used_heap_size: number; total_heap_size: number; external_memory: number };
    return { rss: 0, heapUsed: h.used_heap_size, heapTotal: h.total_heap_size, external: h.external_memory };
  }
}
