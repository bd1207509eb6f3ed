import { lookup, lookupService } from 'node:dns/promises';
import { logger, type Logger } from '../../src/log/logger';
import { notifyPeer, type Discovery, type PeerListener } from './discovery';
import { DEFAULT_ALIVE_NAME, formatNodeName } from './node-name';

export interface DnsDiscoveryOptions {
  /** Names to resolve, e.g. a docker-compose service name. */
  names: readonly string[];
  /** Alive name of the produced node names; default `warren`. */
  alive?: string;
  /**
   * How the host part is written: 'address' gives `warren@172.18.0.3`;
   * 'hostname' asks the resolver for each address's name (as RabbitMQ's DNS peer
   * discovery does) and falls back to the address. Default 'address'.
   */
  nameStyle?: 'address' | 'hostname';
  /** 4 for A records (default), 6 for AAAA, 0 for both. */
  family?: 0 | 4 | 6;
  /** Resolve again this often, since peers may appear later; default 5000 ms; 0 resolves only once. */
  intervalMs?: number;
  /** This node's name, left out of what is reported. */
  self?: string;
  logger?: Logger;
}

/**
 * Resolves host names to their addresses (through the system resolver, so
 * /etc/hosts and docker's embedded DNS both count) and reports `warren@<each>`.
 * Resolution failures are logged and retried at the next interval.
 */
export class DnsDiscovery implements Discovery {
  private readonly log: Logger;
  private readonly seen = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private round: Promise<void> = Promise.resolve();

  constructor(private readonly options: DnsDiscoveryOptions) {
    this.log = (options.logger ?? logger).child({ module: 'discovery', backend: 'dns' });
  }

  async start(onPeer: PeerListener): Promise<void> {
    this.round = this.resolveAll(onPeer);
    const intervalMs = this.options.intervalMs ?? 5000;
    if (intervalMs > 0) {
      this.timer = setInterval(() => {
        // One round at a time: a slow resolver must not pile rounds up.
        this.round = this.round.then(() => this.resolveAll(onPeer));
      }, intervalMs);
      this.timer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.round;
  }

  /** Resolves once the first round (and any round in flight) has finished. */
  settled(): Promise<void> {
    return this.round;
  }

  private async resolveAll(onPeer: PeerListener): Promise<void> {
    for (const name of this.options.names) {
      if (this.stopped) return;
      let addresses: { address: string }[];
      try {
        addresses = await lookup(name, { all: true, family: this.options.family ?? 4 });
      } catch (err) {
        this.log.debug({ err, name }, 'dns discovery lookup failed');
        continue;
      }
      for (const { address } of addresses) {
        const host = await this.hostFor(address);
        const nodeName = formatNodeName(this.options.alive ?? DEFAULT_ALIVE_NAME, host);
        if (this.stopped || nodeName === this.options.self || this.seen.has(nodeName)) continue;
        this.seen.add(nodeName);
        notifyPeer(onPeer, { nodeName, host: address, source: 'dns' }, (err) => this.log.warn({ err, nodeName }, 'peer listener failed'));
      }
    }
  }

  private async hostFor(address: string): Promise<string> {
    if (this.options.nameStyle !== 'hostname') return address;
    try {
      return (await lookupService(address, 0)).hostname;
    } catch {
      return address;
    }
  }
}
