/**
 * The local control protocol between warrenctl and a node, over the Unix socket
 * `<data dir>/warren.sock`. Each message is a 4-byte big-endian length followed by that
 * many bytes of UTF-8 JSON. The client sends one request per connection and reads one
 * reply; the server answers requests in the order received. Access control is the
 * socket file's mode (0600, owner of the node process), as with an Erlang cookie file.
 */
import type { ClusterStatus } from '../../../cluster/node/control-protocol';

/** The socket's name inside the node's data directory. */
export const CONTROL_SOCKET_FILE = 'warren.sock';

/** Largest request or reply accepted, in bytes of JSON (a reply listing many queues fits). */
export const MAX_CONTROL_FRAME_BYTES = 64 * 1024 * 1024;

/** Longest path a Unix socket address can hold on Linux (sun_path minus the NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;

/** What the list request can list; each has its own info items (see control-lists.ts). */
export type ListKind = 'vhosts' | 'users' | 'permissions' | 'user_permissions' | 'queues' | 'exchanges' | 'bindings' | 'connections' | 'consumers' | 'policies' | 'topic_permissions' | 'user_topic_permissions' | 'vhost_limits' | 'user_limits';

/** One warrenctl command, as the node receives it. `node`, when set, must be the node's name. */
export type CtlRequest = { node?: string } & (
  | { op: 'status' }
  | { op: 'cluster_status' }
  | { op: 'list'; kind: ListKind; vhost: string; user?: string; columns: string[] }
  | { op: 'add_vhost'; vhost: string }
  | { op: 'delete_vhost'; vhost: string }
  | { op: 'add_user'; user: string; password: string }
  | { op: 'delete_user'; user: string }
  | { op: 'change_password'; user: string; password: string }
  | { op: 'set_user_tags'; user: string; tags: string[] }
  | { op: 'set_permissions'; vhost: string; user: string; configure: string; write: string; read: string }
  | { op: 'clear_permissions'; vhost: string; user: string }
  | { op: 'set_topic_permissions'; vhost: string; user: string; exchange: string; write: string; read: string }
  | { op: 'clear_topic_permissions'; vhost: string; user: string; exchange?: string }
  | { op: 'set_vhost_limits'; vhost: string; definition: string }
  | { op: 'clear_vhost_limits'; vhost: string }
  | { op: 'set_user_limits'; user: string; definition: string }
  | { op: 'clear_user_limits'; user: string; limit: string }
  | { op: 'purge_queue'; vhost: string; queue: string }
  | { op: 'delete_queue'; vhost: string; queue: string; ifUnused: boolean; ifEmpty: boolean }
  | { op: 'set_policy'; vhost: string; name: string; pattern: string; definition: string; priority: number; applyTo: string }
  | { op: 'clear_policy'; vhost: string; name: string }
  | { op: 'export_definitions' }
  | { op: 'import_definitions'; definitions: unknown }
  | { op: 'quorum_status'; vhost: string; queue: string }
  | { op: 'add_member' | 'delete_member'; vhost: string; queue: string; member: string }
  | { op: 'grow'; member: string; which: string; vhostPattern?: string; queuePattern?: string }
  | { op: 'shrink'; member: string }
  | { op: 'rebalance'; which: string }
);

/** A table: the columns asked for (or the defaults) and one array of values per row. */
export interface CtlTable {
  columns: string[];
  rows: unknown[][];
}

/** What a node answers: `error` is a sentence for the user (printed after "Error:"). */
export type CtlReply =
  | { ok: true; message?: string; table?: CtlTable; status?: Record<string, unknown>; cluster?: ClusterStatus; definitions?: unknown }
  | { ok: false; error: string };

/** Encodes one message: length prefix and JSON. */
export function encodeControlFrame(value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  const out = Buffer.allocUnsafe(4 + json.length);
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  return out;
}

/**
 * Splits a byte stream into decoded messages. push() returns the messages completed by
 * `chunk`; it throws when a length exceeds MAX_CONTROL_FRAME_BYTES or a body is not JSON
 * (the connection should then be dropped).
 */
export class ControlFrameDecoder {
  /** Chunks received and not yet decoded; joined only once a whole message is there. */
  private chunks: Buffer[] = [];
  private total = 0;

  constructor(private readonly maxBytes = MAX_CONTROL_FRAME_BYTES) {}

  push(chunk: Buffer): unknown[] {
    this.chunks.push(chunk);
    this.total += chunk.length;
    const out: unknown[] = [];
    while (this.total >= 4) {
      if (this.chunks[0].length < 4) this.join();
      const length = this.chunks[0].readUInt32BE(0);
      if (length > this.maxBytes) throw new Error(`control message of ${length} bytes exceeds the limit of ${this.maxBytes}`);
      if (this.total < 4 + length) break;
      this.join();
      const all = this.chunks[0];
      const rest = all.subarray(4 + length);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.total = rest.length;
      out.push(JSON.parse(all.toString('utf8', 4, 4 + length)));
    }
    return out;
  }

  private join(): void {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.total)];
  }
}
