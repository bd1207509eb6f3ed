import { logger } from '../../src/log/logger';
import { notifyPeer, type Discovery, type PeerListener } from './discovery';
import { DEFAULT_ALIVE_NAME, formatNodeName, parseNodeName } from './node-name';

export interface StaticDiscoveryOptions {
  /** This node's name, left out of what is reported. */
  self?: string;
  /** Alive name given to entries that are only a host; default `warren`. */
  defaultAlive?: string;
}

/**
 * Parses a node list such as WARREN_CLUSTER_NODES: names separated by commas or
 * whitespace. An entry without `@` is a host and gets the default alive name.
 * Throws TypeError on an entry that is not a valid node name. Duplicates are dropped.
 */
export function parseNodeList(value: string, defaultAlive: string = DEFAULT_ALIVE_NAME): string[] {
  const names = new Set<string>();
  for (const raw of value.split(/[\s,]+/)) {
    if (raw === '') continue;
    const nodeName = raw.includes('@') ? raw : formatNodeName(defaultAlive, raw);
    parseNodeName(nodeName);
    names.add(nodeName);
  }
  return [...names];
}

/** Reports a fixed list of node names once, when started. */
export class StaticDiscovery implements Discovery {
  private readonly nodes: string[];
  private readonly self: string | undefined;

  /** `nodes` is a list, or a string in WARREN_CLUSTER_NODES form; throws TypeError on a bad name. */
  constructor(nodes: string | readonly string[], opts: StaticDiscoveryOptions = {}) {
    const defaultAlive = opts.defaultAlive ?? DEFAULT_ALIVE_NAME;
    this.nodes = typeof nodes === 'string' ? parseNodeList(nodes, defaultAlive) : parseNodeList(nodes.join(','), defaultAlive);
    this.self = opts.self;
  }

  async start(onPeer: PeerListener): Promise<void> {
    const log = logger.child({ module: 'discovery', backend: 'static' });
    for (const nodeName of this.nodes) {
      if (nodeName === this.self) continue;
      notifyPeer(onPeer, { nodeName, host: parseNodeName(nodeName).host, source: 'static' }, (err) =>
        log.warn({ err, nodeName }, 'peer listener failed'),
      );
    }
  }

  async stop(): Promise<void> {}
}
