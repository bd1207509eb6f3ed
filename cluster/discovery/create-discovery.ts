import type { Logger } from '../../src/log/logger';
import type { Discovery, PeerListener } from './discovery';
import { DnsDiscovery } from './dns-discovery';
import { MdnsDiscovery, type MdnsDiscoveryOptions } from './mdns-discovery';
import { StaticDiscovery } from './static-discovery';

/** Which discovery backends to run; every one given runs, side by side. */
export interface DiscoveryConfig {
  /** This node's name (announced by mDNS, left out of reports). */
  self: string;
  /** This node's inter-node port (announced by mDNS). */
  distPort: number;
  /** Static node list, e.g. WARREN_CLUSTER_NODES: `warren@a,warren@b`. */
  nodes?: string | readonly string[];
  /** Host names to resolve, e.g. a docker-compose service name. */
  dnsNames?: readonly string[];
  /** DNS re-resolution interval; default 5000 ms. */
  dnsIntervalMs?: number;
  /** Enables mDNS; `true` for the defaults, or options other than node name and port. */
  mdns?: boolean | Omit<MdnsDiscoveryOptions, 'nodeName' | 'distPort'>;
  logger?: Logger;
}

/** Runs several backends as one; a peer found by two backends is reported by each. */
export class CompositeDiscovery implements Discovery {
  constructor(readonly backends: readonly Discovery[]) {}

  async start(onPeer: PeerListener): Promise<void> {
    const started: Discovery[] = [];
    try {
      for (const backend of this.backends) {
        await backend.start(onPeer);
        started.push(backend);
      }
    } catch (err) {
      await Promise.all(started.map((b) => b.stop()));
      throw err;
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.backends.map((b) => b.stop()));
  }
}

/** Builds the backends `config` asks for (none when it asks for none). Throws TypeError on a bad node name. */
export function createDiscovery(config: DiscoveryConfig): CompositeDiscovery {
  const backends: Discovery[] = [];
  if (config.nodes !== undefined && config.nodes.length > 0) {
    backends.push(new StaticDiscovery(config.nodes, { self: config.self }));
  }
  if (config.dnsNames && config.dnsNames.length > 0) {
    backends.push(new DnsDiscovery({ names: config.dnsNames, self: config.self, intervalMs: config.dnsIntervalMs, logger: config.logger }));
  }
  if (config.mdns) {
    const mdnsOptions = config.mdns === true ? {} : config.mdns;
    backends.push(new MdnsDiscovery({ ...mdnsOptions, nodeName: config.self, distPort: config.distPort, logger: config.logger }));
  }
  return new CompositeDiscovery(backends);
}

/**
 * Reads discovery settings from the environment: WARREN_CLUSTER_NODES (static
 * list), WARREN_CLUSTER_DNS (comma-separated host names), WARREN_CLUSTER_MDNS
 * (`true`/`1` enables mDNS), WARREN_CLUSTER_MDNS_INTERFACE (IPv4 address of the
 * interface). The config module may supersede this with its own table.
 */
export function discoveryConfigFromEnv(env: NodeJS.ProcessEnv, self: string, distPort: number): DiscoveryConfig {
  const list = (value: string | undefined) => (value ?? '').split(/[\s,]+/).filter((s) => s !== '');
  const mdnsOn = /^(1|true|yes|on)$/i.test(env.WARREN_CLUSTER_MDNS ?? '');
  return {
    self,
    distPort,
    nodes: env.WARREN_CLUSTER_NODES,
    dnsNames: list(env.WARREN_CLUSTER_DNS),
    mdns: mdnsOn ? { interface: env.WARREN_CLUSTER_MDNS_INTERFACE || undefined } : false,
  };
}
