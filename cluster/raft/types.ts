/**
 * Plain data types shared by the Raft core, the facade, the stores and the codec.
 * Everything here is serializable: no functions, no class instances except Buffer.
 */

/** A server's stable identity inside one Raft group (for Warren: the node name). */
export type ServerId = string;

/** Whether a server votes (and counts for commit) or only receives the log. */
export type Suffrage = 'voter' | 'nonvoter';

/** One member of a configuration. `address` is opaque to Raft: the transport interprets it. */
export interface Server {
  id: ServerId;
  address: string;
  suffrage: Suffrage;
}

/** The full membership. A config log entry carries a whole Configuration, not a delta. */
export interface Configuration {
  servers: Server[];
}

export enum EntryType {
  /** A client command for the FSM. */
  Command = 0,
  /** The blank entry a new leader appends to commit entries of earlier terms. */
  Noop = 1,
  /** A membership change; takes effect on every server as soon as it is appended. */
  Config = 2,
}

/** One log entry. Indexes start at 1; index 0 with term 0 is the empty log's sentinel. */
export interface LogEntry {
  index: number;
  term: number;
  type: EntryType;
  data: Buffer;
}

/** The state every server must persist before it sends messages or applies entries. */
export interface HardState {
  term: number;
  /** The server voted for in `term`, or '' when none. */
  vote: ServerId;
  commit: number;
}

/** Describes a snapshot: the last entry it covers and the membership at that entry. */
export interface SnapshotMeta {
  index: number;
  term: number;
  configuration: Configuration;
  /** The index of the config entry that `configuration` came from (0 for bootstrap). */
  configurationIndex: number;
}

export interface Snapshot {
  meta: SnapshotMeta;
  data: Buffer;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: '', commit: 0 };

export const EMPTY_CONFIGURATION: Configuration = { servers: [] };

export function isVoter(config: Configuration, id: ServerId): boolean {
  return config.servers.some((s) => s.id === id && s.suffrage === 'voter');
}

export function voters(config: Configuration): ServerId[] {
  return config.servers.filter((s) => s.suffrage === 'voter').map((s) => s.id);
}

export function findServer(config: Configuration, id: ServerId): Server | undefined {
  return config.servers.find((s) => s.id === id);
}

/** Encodes a configuration for a config entry's data (JSON is fine: rare and small). */
export function encodeConfiguration(config: Configuration): Buffer {
  return Buffer.from(JSON.stringify(config.servers), 'utf8');
}

export function decodeConfiguration(data: Buffer): Configuration {
  const servers = JSON.parse(data.toString('utf8')) as Server[];
  return { servers: servers.map((s) => ({ id: s.id, address: s.address, suffrage: s.suffrage })) };
}
