import { hostname } from 'node:os';
import { lookupPort, type PortMapperAddress } from './port-mapper-client';

/** The default alive name of a Warren node, as `rabbit` is RabbitMQ's. */
export const DEFAULT_ALIVE_NAME = 'warren';

/** A node name `alive@host` taken apart. */
export interface NodeName {
  /** The part before `@`: the name registered with the host's port mapper. */
  alive: string;
  /** The part after `@`: where the node's port mapper and inter-node listener are. */
  host: string;
}

/** Where to reach a node's inter-node listener. */
export interface ResolvedNode extends NodeName {
  nodeName: string;
  distPort: number;
}

/**
 * Parses `alive@host`. Throws TypeError when either part is empty, when there is
 * more than one `@`, or when the alive part has characters epmd would refuse.
 */
export function parseNodeName(nodeName: string): NodeName {
  const at = nodeName.indexOf('@');
  if (at <= 0 || at === nodeName.length - 1 || nodeName.indexOf('@', at + 1) !== -1) {
    throw new TypeError(`invalid node name ${JSON.stringify(nodeName)}: expected alive@host`);
  }
  const alive = nodeName.slice(0, at);
  const host = nodeName.slice(at + 1);
  if (alive.includes('\0') || [...alive].length > 255) {
    throw new TypeError(`invalid node name ${JSON.stringify(nodeName)}: bad alive part`);
  }
  if (/\s/.test(host)) throw new TypeError(`invalid node name ${JSON.stringify(nodeName)}: bad host part`);
  return { alive, host };
}

/** Formats `alive@host`; throws like parseNodeName on parts that would not parse back. */
export function formatNodeName(alive: string, host: string): string {
  const nodeName = `${alive}@${host}`;
  parseNodeName(nodeName);
  return nodeName;
}

/** True when `value` parses as a node name. */
export function isNodeName(value: string): boolean {
  try {
    parseNodeName(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * This host's node name: `alive@<short host name>` (as `erl -sname`), or with
 * `longNames` the full host name (as `erl -name`).
 */
export function localNodeName(alive: string = DEFAULT_ALIVE_NAME, opts: { longNames?: boolean; host?: string } = {}): string {
  const host = opts.host ?? hostname();
  return formatNodeName(alive, opts.longNames ? host : host.split('.')[0]);
}

/**
 * Finds a node's inter-node port by asking its host's port mapper, as Erlang
 * distribution does. Resolves undefined when the name is not registered there;
 * rejects with PortMapperError when the port mapper cannot be reached.
 */
export async function resolveNodeName(nodeName: string, opts: PortMapperAddress = {}): Promise<ResolvedNode | undefined> {
  const { alive, host } = parseNodeName(nodeName);
  const info = await lookupPort(host, alive, opts);
  return info ? { nodeName, alive, host, distPort: info.port } : undefined;
}
