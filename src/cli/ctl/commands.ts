/**
 * warrenctl's local commands, with rabbitmqctl's names and arguments: each turns its
 * positional arguments and options into one control request, and says what it prints
 * before (the "Listing queues for vhost / ..." line that -q hides) and how to show the reply.
 */
import { readFileSync } from 'node:fs';
import type { CtlRequest, ListKind } from '../control/control-protocol';

/** Options shared by the commands (parsed by warrenctl.ts). */
export interface CommandOptions {
  vhost: string;
  priority: string | undefined;
  applyTo: string;
  ifEmpty: boolean;
  ifUnused: boolean;
}

export class UsageError extends Error {}

/** One command: its argument count, the request it sends, the line printed first, the reply's shape. */
export interface CommandSpec {
  args: string;
  min: number;
  max: number;
  show: 'table' | 'message' | 'status' | 'cluster' | 'definitions';
  request(pos: string[], o: CommandOptions): CtlRequest;
  banner(pos: string[], o: CommandOptions): string;
}

const list = (kind: ListKind, banner: (pos: string[], o: CommandOptions) => string, columns = true, perVhost = true): CommandSpec => ({
  args: [perVhost ? '[-p VHOST]' : '', columns ? '[COLUMN ...]' : ''].filter((s) => s !== '').join(' '),
  min: 0,
  max: columns ? Infinity : 0,
  show: 'table',
  request: (pos, o) => ({ op: 'list', kind, vhost: o.vhost, columns: pos }),
  banner,
});

const change = (args: string, min: number, max: number, request: CommandSpec['request'], banner: CommandSpec['banner']): CommandSpec => ({ args, min, max, show: 'message', request, banner });

/** The commands answered through the control socket, by rabbitmqctl name. */
export const COMMANDS: Record<string, CommandSpec> = {
  status: { args: '', min: 0, max: 0, show: 'status', request: () => ({ op: 'status' }), banner: () => '' },
  cluster_status: { args: '', min: 0, max: 0, show: 'cluster', request: () => ({ op: 'cluster_status' }), banner: () => '' },
  list_vhosts: list('vhosts', () => 'Listing vhosts ...', true, false),
  add_vhost: change('VHOST', 1, 1, ([vhost]) => ({ op: 'add_vhost', vhost }), ([v]) => `Adding vhost "${v}" ...`),
  delete_vhost: change('VHOST', 1, 1, ([vhost]) => ({ op: 'delete_vhost', vhost }), ([v]) => `Deleting vhost "${v}" ...`),
  list_users: list('users', () => 'Listing users ...', false, false),
  add_user: change('USER PASSWORD', 2, 2, ([user, password]) => ({ op: 'add_user', user, password }), ([u]) => `Adding user "${u}" ...`),
  delete_user: change('USER', 1, 1, ([user]) => ({ op: 'delete_user', user }), ([u]) => `Deleting user "${u}" ...`),
  change_password: change('USER PASSWORD', 2, 2, ([user, password]) => ({ op: 'change_password', user, password }), ([u]) => `Changing password for user "${u}" ...`),
  set_user_tags: change('USER [TAG ...]', 1, Infinity, ([user, ...tags]) => ({ op: 'set_user_tags', user, tags }), ([u, ...t]) => `Setting tags for user "${u}" to [${t.join(', ')}] ...`),
  set_permissions: change(
    '[-p VHOST] USER CONF WRITE READ',
    4,
    4,
    ([user, configure, write, read], o) => ({ op: 'set_permissions', vhost: o.vhost, user, configure, write, read }),
    ([u], o) => `Setting permissions for user "${u}" in vhost "${o.vhost}" ...`,
  ),
  list_permissions: list('permissions', (_p, o) => `Listing permissions for vhost "${o.vhost}" ...`, false),
  list_user_permissions: {
    args: 'USER',
    min: 1,
    max: 1,
    show: 'table',
    request: ([user], o) => ({ op: 'list', kind: 'user_permissions', vhost: o.vhost, user, columns: [] }),
    banner: ([u]) => `Listing permissions for user "${u}" ...`,
  },
  clear_permissions: change('[-p VHOST] USER', 1, 1, ([user], o) => ({ op: 'clear_permissions', vhost: o.vhost, user }), ([u], o) => `Clearing permissions for user "${u}" in vhost "${o.vhost}" ...`),
  set_topic_permissions: change(
    '[-p VHOST] USER EXCHANGE WRITE READ',
    4,
    4,
    ([user, exchange, write, read], o) => ({ op: 'set_topic_permissions', vhost: o.vhost, user, exchange, write, read }),
    ([u, e], o) => `Setting topic permissions on "${e}" for user "${u}" in vhost "${o.vhost}" ...`,
  ),
  clear_topic_permissions: change(
    '[-p VHOST] USER [EXCHANGE]',
    1,
    2,
    ([user, exchange], o) => ({ op: 'clear_topic_permissions', vhost: o.vhost, user, exchange }),
    ([u, e], o) => (e === undefined ? `Clearing topic permissions for user "${u}" in vhost "${o.vhost}" ...` : `Clearing topic permissions on "${e}" for user "${u}" in vhost "${o.vhost}" ...`),
  ),
  list_topic_permissions: list('topic_permissions', (_p, o) => `Listing topic permissions for vhost "${o.vhost}" ...`, false),
  list_user_topic_permissions: {
    args: 'USER',
    min: 1,
    max: 1,
    show: 'table',
    request: ([user], o) => ({ op: 'list', kind: 'user_topic_permissions', vhost: o.vhost, user, columns: [] }),
    banner: ([u]) => `Listing topic permissions for user "${u}" ...`,
  },
  set_vhost_limits: change('[-p VHOST] DEFINITION', 1, 1, ([definition], o) => ({ op: 'set_vhost_limits', vhost: o.vhost, definition }), ([d], o) => `Applying limits to vhost "${o.vhost}": ${d} ...`),
  clear_vhost_limits: change('[-p VHOST]', 0, 0, (_p, o) => ({ op: 'clear_vhost_limits', vhost: o.vhost }), (_p, o) => `Clearing vhost "${o.vhost}" limits ...`),
  list_vhost_limits: list('vhost_limits', () => 'Listing limits for all vhosts ...', false, false),
  set_user_limits: change('USER DEFINITION', 2, 2, ([user, definition]) => ({ op: 'set_user_limits', user, definition }), ([u, d]) => `Setting user limits to "${d}" for user "${u}" ...`),
  clear_user_limits: change('USER max-connections|max-channels|all', 2, 2, ([user, limit]) => ({ op: 'clear_user_limits', user, limit }), ([u, l]) => `Clearing "${l}" limit for user "${u}" ...`),
  list_user_limits: list('user_limits', () => 'Listing limits for all users ...', false, false),
  quorum_status: {
    args: '[-p VHOST] QUEUE',
    min: 1,
    max: 1,
    show: 'table',
    request: ([queue], o) => ({ op: 'quorum_status', vhost: o.vhost, queue }),
    banner: ([q], o) => `Status of quorum queue ${q} on vhost ${o.vhost} ...`,
  },
  add_member: change('[-p VHOST] QUEUE NODE', 2, 2, ([queue, node], o) => ({ op: 'add_member', vhost: o.vhost, queue, member: node }), ([q, n], o) => `Adding a replica for queue ${q} in vhost ${o.vhost} on node ${n}...`),
  delete_member: change('[-p VHOST] QUEUE NODE', 2, 2, ([queue, node], o) => ({ op: 'delete_member', vhost: o.vhost, queue, member: node }), ([q, n], o) => `Removing a replica of queue ${q} in vhost ${o.vhost} on node ${n}...`),
  grow: {
    args: 'NODE all|even [VHOST_PATTERN [QUEUE_PATTERN]]',
    min: 2,
    max: 4,
    show: 'table',
    request: ([node, which, vhostPattern, queuePattern]) => ({ op: 'grow', member: node, which, vhostPattern, queuePattern }),
    banner: ([n]) => `Growing quorum queues onto ${n}...`,
  },
  shrink: { args: 'NODE', min: 1, max: 1, show: 'table', request: ([node]) => ({ op: 'shrink', member: node }), banner: ([n]) => `Shrinking quorum queues on ${n}...` },
  rebalance: { args: 'all|quorum', min: 1, max: 1, show: 'table', request: ([which]) => ({ op: 'rebalance', which }), banner: () => 'Re-balancing leaders of quorum queues...' },
  list_queues: list('queues', (_p, o) => `Listing queues for vhost ${o.vhost} ...`),
  list_exchanges: list('exchanges', (_p, o) => `Listing exchanges for vhost ${o.vhost} ...`),
  list_bindings: list('bindings', (_p, o) => `Listing bindings for vhost ${o.vhost}...`),
  list_connections: list('connections', () => 'Listing connections ...', true, false),
  list_consumers: list('consumers', (_p, o) => `Listing consumers in vhost ${o.vhost} ...`),
  purge_queue: change('[-p VHOST] QUEUE', 1, 1, ([queue], o) => ({ op: 'purge_queue', vhost: o.vhost, queue }), ([q], o) => `Purging queue '${q}' in vhost '${o.vhost}' ...`),
  delete_queue: change(
    '[-p VHOST] [--if-empty|-e] [--if-unused|-u] QUEUE',
    1,
    1,
    ([queue], o) => ({ op: 'delete_queue', vhost: o.vhost, queue, ifEmpty: o.ifEmpty, ifUnused: o.ifUnused }),
    ([q], o) => `Deleting queue '${q}' on vhost '${o.vhost}' ...`,
  ),
  set_policy: change(
    '[-p VHOST] [--priority N] [--apply-to queues|exchanges|all] NAME PATTERN DEFINITION',
    3,
    3,
    ([name, pattern, definition], o) => {
      const priority = o.priority === undefined ? 0 : Number(o.priority);
      if (!Number.isInteger(priority)) throw new UsageError(`--priority must be an integer, got '${o.priority}'`);
      return { op: 'set_policy', vhost: o.vhost, name, pattern, definition, priority, applyTo: o.applyTo };
    },
    ([name, pattern, definition], o) => `Setting policy "${name}" for pattern "${pattern}" to "${definition}" with priority "${o.priority ?? 0}" for vhost "${o.vhost}" ...`,
  ),
  clear_policy: change('[-p VHOST] NAME', 1, 1, ([name], o) => ({ op: 'clear_policy', vhost: o.vhost, name }), ([n], o) => `Clearing policy "${n}" on vhost "${o.vhost}" ...`),
  list_policies: list('policies', (_p, o) => `Listing policies for vhost "${o.vhost}" ...`, false),
  export_definitions: { args: 'PATH|-', min: 1, max: 1, show: 'definitions', request: () => ({ op: 'export_definitions' }), banner: ([p]) => (p === '-' ? '' : `Exporting definitions in JSON to a file at "${p}" ...`) },
  import_definitions: change('PATH', 1, 1, ([path]) => ({ op: 'import_definitions', definitions: readDefinitions(path) }), ([p]) => `Importing definitions in JSON from a file at "${p}" ...`),
};

/** The JSON of a definitions file (RabbitMQ's format); a file that cannot be read or parsed is a usage error. */
function readDefinitions(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${path} is not JSON: ${(err as Error).message}`);
  }
}

/** A value in a tab-separated table: strings as they are, lists as [a, b], tables as JSON. */
export function formatCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return `[${v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ')}]`;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A table as rabbitmqctl prints it: a header line, then one tab-separated line per row. */
export function formatTable(columns: string[], rows: unknown[][], headers: boolean): string[] {
  const lines = headers ? [columns.join('\t')] : [];
  for (const row of rows) lines.push(row.map(formatCell).join('\t'));
  return lines;
}

/** A table as `--formatter json` prints it: an array of objects keyed by column. */
export function tableToObjects(columns: string[], rows: unknown[][]): Record<string, unknown>[] {
  return rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]])));
}

/** `status` as text. */
export function formatNodeStatus(s: Record<string, unknown>): string {
  const listeners = (s.listeners as { protocol: string; host: string; port: number }[]) ?? [];
  const mem = (s.memory ?? {}) as Record<string, number>;
  const totals = (s.totals ?? {}) as Record<string, number>;
  const alarms = (s.alarms as string[]) ?? [];
  const mb = (n: number | undefined) => `${((n ?? 0) / 1048576).toFixed(1)} MiB`;
  return [
    `Status of node ${s.node} ...`,
    'Runtime',
    '',
    `OS PID: ${s.os_pid}`,
    `Product name: ${s.product_name}`,
    `Product version: ${s.product_version}`,
    `Runtime: ${s.runtime}`,
    `Uptime (seconds): ${s.uptime_seconds}`,
    `Data directory: ${s.data_directory}`,
    `Clustered: ${s.clustered}`,
    '',
    'Alarms',
    '',
    alarms.length === 0 ? '(none)' : alarms.map((a) => `${a} alarm`).join('\n'),
    '',
    'Memory',
    '',
    `RSS: ${mb(mem.rss)}`,
    `Heap used: ${mb(mem.heap_used)} of ${mb(mem.heap_total)}`,
    '',
    'File descriptors',
    '',
    ...Object.entries((s.file_descriptors ?? {}) as Record<string, unknown>).map(([k, v]) => `${k.replace(/_/g, ' ')}: ${v}`),
    '',
    'Listeners',
    '',
    ...listeners.map((l) => `Interface: ${l.host}, port: ${l.port}, protocol: ${l.protocol}, purpose: AMQP 0-9-1`),
    '',
    'Totals',
    '',
    `Virtual host count: ${totals.virtual_hosts}`,
    `User count: ${totals.users}`,
    `Queue count: ${totals.queues}`,
    `Message count: ${totals.messages}`,
    `Connection count: ${totals.connections}`,
  ].join('\n');
}
